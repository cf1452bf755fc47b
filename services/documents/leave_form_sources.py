"""Where the leave form's data comes from: one small function per source, each reading defensively, so a
field a source does not (yet) carry leaves its place on the form blank instead of failing the form.

- the directory (`rm_people`): name, jabatan, pangkat/golongan ruang, unit, and masa kerja from its start of
  service (`policy.service.service_length`);
- the request's sealed personal data: the reason, the address and phone during leave;
- the request's own stream: the decisions of the round, with the dates granted or the deferral, and an
  outside authority's consideration (BKN's for a CLTN);
- the annual-leave record (`services/leave_record/store.py`, as GET /api/leave/balance): N-2 / N-1 / N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.directory import Person
from contracts.events import external_approvals_stream, request_stream
from policy.leave import LeaveRecord
from policy.service import service_length
from services.documents.leave_form import AnnualRecord, Employee, OutsideConsideration

FORM_EVENT_TYPES = ("RequestSubmitted", "RequestResubmitted", "DecisionRecorded", "RequestDatesChanged")


@dataclass(frozen=True)
class RecordedDecision:
    tier: str
    decision: str
    comment: str | None
    actor: str
    on_behalf_of: str | None
    occurred_at: datetime
    dates: tuple[date, ...]
    defer_until: date | None


def _field(row: Any, name: str) -> Any:
    if row is None:
        return None
    try:
        return row[name]
    except KeyError:
        return None


def employee_from_directory(
    person: Person | None, *, nip: str, name: str, position: str, unit: str, on: date
) -> Employee:
    """Section I from the directory; rank, position and masa kerja are blank where it does not know them."""
    length = service_length(person, on) if person is not None else None
    return Employee(
        name=name,
        nip=nip,
        position=(person.position if person is not None else None) or position,
        service_length=length.label() if length is not None else "",
        unit=unit,
        rank=(person.rank if person is not None else None) or "",
    )


def leave_contact(personal: Mapping[str, Any] | None) -> tuple[str, str]:
    """The address and phone during leave, sealed in the request's personal data as `leave_address` and
    `leave_phone` (or, as submitted, a nested `leave: {address, phone}`); blank when absent or erased."""
    if not personal:
        return "", ""
    leave = personal.get("leave")
    nested: Mapping[str, Any] = leave if isinstance(leave, Mapping) else {}
    address = personal.get("leave_address") or nested.get("address") or ""
    phone = personal.get("leave_phone") or nested.get("phone") or ""
    return str(address), str(phone)


def _dates(values: Any) -> tuple[date, ...]:
    return tuple(sorted(date.fromisoformat(str(v)) for v in values or ()))


async def request_events(pool: asyncpg.Pool, request_id: UUID, up_to_position: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT type, payload, actor, on_behalf_of, occurred_at FROM events WHERE stream_id = $1 "
            "AND type = ANY($2::text[]) AND position <= $3 ORDER BY version",
            request_stream(request_id),
            list(FORM_EVENT_TYPES),
            up_to_position,
        )
    )


def sealed_personal(events: list[asyncpg.Record]) -> dict[str, Any] | None:
    """The personal data of the latest submission (a resubmission seals it afresh)."""
    sealed = None
    for event in events:
        if event["type"] in ("RequestSubmitted", "RequestResubmitted") and event["payload"].get("personal"):
            sealed = event["payload"]["personal"]
    return sealed


def requested_dates(events: list[asyncpg.Record], round_: int) -> tuple[date, ...]:
    """The dates the employee asked for in this round (section IV), before any change by an approver."""
    asked: tuple[date, ...] = ()
    for event in events:
        if event["type"] == "RequestSubmitted" or (
            event["type"] == "RequestResubmitted" and int(event["payload"].get("round", 0)) <= round_
        ):
            asked = _dates(event["payload"].get("dates"))
    return asked


def round_decisions(events: list[asyncpg.Record], round_: int) -> list[RecordedDecision]:
    """Every decision recorded in the round, in order; `dates` and `defer_until` are read when present."""
    found = []
    for event in events:
        p = event["payload"]
        if event["type"] != "DecisionRecorded" or int(p.get("round", 1)) != round_:
            continue
        defer_until = p.get("defer_until")
        found.append(
            RecordedDecision(
                tier=p["tier"],
                decision=p["decision"],
                comment=p.get("comment"),
                actor=event["actor"],
                on_behalf_of=event["on_behalf_of"],
                occurred_at=event["occurred_at"],
                dates=_dates(p.get("dates")),
                defer_until=date.fromisoformat(defer_until) if defer_until else None,
            )
        )
    return found


async def outside_considerations(
    pool: asyncpg.Pool, request_id: UUID, up_to_position: int
) -> tuple[OutsideConsideration, ...]:
    """The outside authorities' considerations recorded for the request before its outcome (BKN's for a
    CLTN), in order; they live on the request's own external-approvals stream."""
    rows = await pool.fetch(
        "SELECT payload FROM events WHERE stream_id = $1 AND type = 'ExternalApprovalRecorded' AND position <= $2 "
        "ORDER BY version",
        external_approvals_stream(request_id),
        up_to_position,
    )
    return tuple(
        OutsideConsideration(
            authority=str(r["payload"]["authority"]),
            number=str(r["payload"]["number"]),
            dated=date.fromisoformat(str(r["payload"]["date"])),
        )
        for r in rows
    )


def form_record(record: LeaveRecord) -> AnnualRecord:
    """Section V from the annual-leave record (`policy.leave.leave_record`), the figures of GET
    /api/leave/balance; days in flight count as used, as the balance's `available` counts them."""
    return AnnualRecord(
        year=record.year,
        n2=record.n2,
        n1=record.n1,
        n=record.n,
        used=record.used + record.pending,
        available=record.available,
        deferred=record.deferred,
    )


async def other_leave_taken(pool: asyncpg.Pool, nip: str, year: int, excluding: UUID) -> dict[str, int]:
    """Days of each leave kind granted to the employee in `year`, this request aside."""
    rows = await pool.fetch(
        "SELECT kind, dates FROM rm_requests WHERE requester_nip = $1 AND status = 'APPROVED' "
        "AND request_id IS DISTINCT FROM $2",
        nip,
        excluding,
    )
    taken: dict[str, int] = {}
    for row in rows:
        days = sum(1 for d in row["dates"] if d.year == year)
        if days:
            taken[row["kind"]] = taken.get(row["kind"], 0) + days
    return taken
