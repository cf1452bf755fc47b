"""Synthetic but valid workloads: a large Kendari directory, request bodies, and whole request histories."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from contracts.common import DecisionKind, PolicyRef, RequestKind, Tier
from contracts.events import (
    SYSTEM_ACTOR,
    DecisionRecorded,
    DirectoryImported,
    EventPayload,
    RequestApproved,
    RequestSubmitted,
    RouteDetermined,
    TaskAssigned,
    request_stream,
)
from eventstore.store import AppendUnit, NewEvent

HEADER = "nip,name,employee_type,region,opd_code,opd_name,opd_class,unit_code,unit_name,roles,acting_for"
WINDOW_DAYS = ["2025-12-29", "2025-12-30", "2025-12-31"]
# Working days after the window: annual leave in Kendari goes unit head → OPD head → Wali Kota (PPK).
LEAVE_DAYS = ["2026-01-05", "2026-01-06", "2026-01-07"]
REGION = "kendari"


def _nip(i: int, *, gender: int = 1) -> str:
    born = date(1970, 1, 1) + timedelta(days=i // 7)
    return f"{born:%Y%m%d}199901{gender}{i % 1000:03d}"


@dataclass(frozen=True)
class BenchUnit:
    head: str
    opd_head: str
    staff: tuple[str, ...]


@dataclass(frozen=True)
class BenchDirectory:
    csv: str
    units: tuple[BenchUnit, ...]
    ppk: str

    def requesters(self) -> Iterator[tuple[str, str, str]]:
        """(requester, unit head, OPD head) for every staff member, round-robin over units."""
        longest = max(len(u.staff) for u in self.units)
        for i in range(longest):
            for unit in self.units:
                if i < len(unit.staff):
                    yield unit.staff[i], unit.head, unit.opd_head


def bench_directory(opds: int = 10, units_per_opd: int = 10, staff_per_unit: int = 10) -> BenchDirectory:
    """A Kendari-shaped directory big enough for thousands of non-overlapping requests (support OPDs: no caps)."""
    rows = [HEADER]
    serial = 0

    def nip() -> str:
        nonlocal serial
        serial += 1
        return _nip(serial)

    ppk = nip()
    rows.append(f"{ppk},Wali Kota Bench,PNS,{REGION},SETDA-PPK,Kepala Daerah,support,PPK,Kepala Daerah,ppk,")
    rows.append(f"{nip()},Admin Bench,PNS,{REGION},BKPSDM-ADM,BKPSDM,support,ADM,Admin,admin,")
    rows.append(f"{nip()},Inspektur Bench,PNS,{REGION},INSPEKTORAT,Inspektorat,support,INSP,Inspektur,inspector,")
    units = []
    for o in range(opds):
        opd = f"OPD{o:02d}"
        opd_head = nip()
        rows.append(f"{opd_head},Kepala {opd},PNS,{REGION},{opd},Dinas {o},support,{opd}-SEK,Sekretariat,opd_head,")
        for u in range(units_per_opd):
            unit = f"{opd}-U{u:02d}"
            head = nip()
            rows.append(f"{head},Kepala {unit},PNS,{REGION},{opd},Dinas {o},support,{unit},Bidang {u},unit_head,")
            staff = []
            for s in range(staff_per_unit):
                person = nip()
                staff.append(person)
                rows.append(f"{person},Staf {unit}-{s},PNS,{REGION},{opd},Dinas {o},support,{unit},Bidang {u},,")
            units.append(BenchUnit(head=head, opd_head=opd_head, staff=tuple(staff)))
    return BenchDirectory(csv="\n".join(rows) + "\n", units=tuple(units), ppk=ppk)


def leave_body(day: str) -> dict[str, object]:
    return {
        "kind": "CUTI_TAHUNAN",
        "dates": [day],
        "reason": "Urusan keluarga",
        "leave": {"address": "Jl. Merdeka 1", "phone": "081234567890"},
    }


def wfh_body(day: str) -> dict[str, object]:
    return {
        "kind": "WFH",
        "dates": [day],
        "reason": "Menyelesaikan laporan akhir tahun",
        "work_plan": "Rekapitulasi data",
    }


# --- whole histories, for verify/rebuild scaling -------------------------------------------------------

POLICY = PolicyRef(id="kendari", version="2025.12.1", sha256="0" * 64)


def _event(payload: EventPayload, stream: str, at: datetime, actor: str, correlation: str) -> NewEvent:
    return NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=at,
        actor=actor,
        correlation_id=correlation,
        policy=POLICY,
        clock="simulated",
    )


def directory_unit(people: list[dict[str, object]], at: datetime) -> AppendUnit:
    payload = DirectoryImported(sha256="bench", rows=len(people), people=people)
    return AppendUnit([_event(payload, "directory", at, SYSTEM_ACTOR, "bench")])


def request_history(seq: int, rng: random.Random, start: datetime) -> AppendUnit:
    """One approved two-tier WFH request: 7 events, as the workflow records them."""
    request_id = uuid.UUID(int=rng.getrandbits(128))
    stream = request_stream(request_id)
    requester, head, opd_head = _nip(seq % 5000 + 100), _nip(seq % 50 + 10), _nip(seq % 10 + 1)
    at = start + timedelta(seconds=seq)
    day = date(2025, 12, 29) + timedelta(days=seq % 3)
    route = [
        {
            "tier": "UNIT_HEAD",
            "approver_nip": head,
            "approver_name": "Kepala",
            "action": "approve",
            "on_behalf_of": None,
            "citation": {
                "pack_id": "kendari",
                "pack_version": "2025.12.1",
                "rule_id": "kendari.rute-fleksibel",
                "source": "SE",
                "clause": "c",
            },
        },
        {
            "tier": "OPD_HEAD",
            "approver_nip": opd_head,
            "approver_name": "Kepala OPD",
            "action": "approve",
            "on_behalf_of": None,
            "citation": {
                "pack_id": "kendari",
                "pack_version": "2025.12.1",
                "rule_id": "kendari.rute-fleksibel",
                "source": "SE",
                "clause": "c",
            },
        },
    ]
    task0, task1 = f"{request_id}-r1s0", f"{request_id}-r1s1"
    payloads: list[tuple[EventPayload, str]] = [
        (
            RequestSubmitted(
                request_id=request_id,
                requester_nip=requester,
                requester_name="Staf",
                region=REGION,
                opd_code="OPD00",
                unit_code="OPD00-U00",
                kind=RequestKind.WFH,
                dates=[day],
                body_sha256="b" * 64,
            ),
            requester,
        ),
        (
            RouteDetermined.model_validate(
                {"request_id": str(request_id), "timezone": "Asia/Makassar", "route": route}
            ),
            SYSTEM_ACTOR,
        ),
        (
            TaskAssigned(task_id=task0, request_id=request_id, round=1, step=0, tier=Tier.UNIT_HEAD, assignee_nip=head),
            SYSTEM_ACTOR,
        ),
        (
            DecisionRecorded(
                task_id=task0,
                request_id=request_id,
                round=1,
                step=0,
                tier=Tier.UNIT_HEAD,
                decision=DecisionKind.APPROVE,
            ),
            head,
        ),
        (
            TaskAssigned(
                task_id=task1, request_id=request_id, round=1, step=1, tier=Tier.OPD_HEAD, assignee_nip=opd_head
            ),
            SYSTEM_ACTOR,
        ),
        (
            DecisionRecorded(
                task_id=task1, request_id=request_id, round=1, step=1, tier=Tier.OPD_HEAD, decision=DecisionKind.APPROVE
            ),
            opd_head,
        ),
        (RequestApproved(request_id=request_id, round=1, final_tier=Tier.OPD_HEAD), SYSTEM_ACTOR),
    ]
    events = [
        _event(p, stream, at + timedelta(milliseconds=i), actor, str(request_id))
        for i, (p, actor) in enumerate(payloads)
    ]
    return AppendUnit(events, {stream: 0})


EVENTS_PER_REQUEST = 7
HISTORY_START = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)


def bench_people() -> list[dict[str, object]]:
    """Five people of one Kendari unit: the directory every synthetic request history of the bench names."""
    return [
        {
            "nip": f"19700101199901100{i}",
            "name": "x",
            "employee_type": "PNS",
            "region": "kendari",
            "opd_code": "OPD00",
            "opd_name": "Dinas",
            "opd_class": "support",
            "unit_code": "OPD00-U00",
            "unit_name": "B",
            "roles": [],
            "acting_for": None,
            "email": None,
            "phone": None,
        }
        for i in range(5)
    ]
