"""A synthetic but realistic event log, for measuring verify and rebuild on large stores.

Each request goes through the same event sequence the approval workflow writes (submitted, routed, tasks,
decisions, outcome, quota moves), with payloads of the real types and sizes, routed through the real
directory. Nothing here touches a database: it yields the units the store appends.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from contracts.common import Citation, DecisionKind, PolicyRef, RequestKind, Tier
from contracts.directory import Person
from contracts.evaluation import RouteStep
from contracts.events import (
    DecisionRecorded,
    EventPayload,
    QuotaConsumed,
    QuotaReleased,
    QuotaReserved,
    RequestApproved,
    RequestCancelled,
    RequestRejected,
    RequestResubmitted,
    RequestReturned,
    RequestSubmitted,
    RouteDetermined,
    Sealed,
    TaskAssigned,
    request_stream,
)
from eventstore.store import AppendUnit, NewEvent
from policy.directory import DirectoryIndex

_NAMESPACE = uuid.UUID("6f1c1f5e-2b7d-4c55-9c1a-5d0c5b1e0a11")
_POLICY = PolicyRef(id="kendari", version="2025.12.1", sha256=hashlib.sha256(b"synthetic pack").hexdigest())
_CITATION = Citation(
    pack_id="kendari",
    pack_version="2025.12.1",
    rule_id="route.flexible",
    source="SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025",
    clause="Pengajuan kerja fleksibel disetujui berjenjang oleh pimpinan unit kerja lalu kepala perangkat daerah.",
)
_DAYS = [date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31)]


class SyntheticLog:
    """Request lifecycles with random outcomes; deterministic for a given seed."""

    def __init__(self, people: list[Person], *, seed: int = 7, start: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.index = DirectoryIndex(people)
        self.staff = [p for p in people if not p.roles]
        self.now = start or datetime(2025, 12, 22, 1, 0, tzinfo=UTC)
        self.leave_used: dict[str, int] = {}

    def _tick(self) -> datetime:
        self.now += timedelta(seconds=self.rng.randint(1, 90))
        return self.now

    def _sealed(self, nip: str) -> Sealed:
        blob = self.rng.randbytes(self.rng.randint(60, 220))
        return Sealed(
            kid=f"{nip}:request:2025-12",
            nonce=base64.b64encode(self.rng.randbytes(12)).decode(),
            ct=base64.b64encode(blob).decode(),
        )

    def _route(self, person: Person, kind: RequestKind) -> list[RouteStep]:
        steps: list[RouteStep] = []
        unit = self.index.unit_head(person.region, person.unit_code)
        opd = self.index.opd_head(person.region, person.opd_code)
        ppk = self.index.ppk(person.region)
        for tier, holder in ((Tier.UNIT_HEAD, unit), (Tier.OPD_HEAD, opd)):
            if holder is not None:
                steps.append(
                    RouteStep(
                        tier=tier,
                        approver_nip=holder.assignee_nip,
                        approver_name=holder.name,
                        on_behalf_of=holder.nip if holder.acting else None,
                        citation=_CITATION,
                    )
                )
        if kind == RequestKind.CUTI_TAHUNAN and ppk is not None:
            steps.append(
                RouteStep(tier=Tier.PPK, approver_nip=ppk.assignee_nip, approver_name=ppk.name, citation=_CITATION)
            )
        return steps

    def requests(self, count: int) -> Iterator[list[AppendUnit]]:
        """Each item is one request's units, in the order the workflow would append them."""
        for _ in range(count):
            yield list(self._one_request())

    def _one_request(self) -> Iterator[AppendUnit]:
        rng = self.rng
        person = rng.choice(self.staff)
        kind = rng.choice([RequestKind.WFH, RequestKind.WFH, RequestKind.WFA, RequestKind.CUTI_TAHUNAN])
        request_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        stream = request_stream(request_id)
        dates = sorted(rng.sample(_DAYS, rng.randint(1, 3)))
        route = self._route(person, kind)
        if not route:
            return
        version = 0

        def event(payload: EventPayload, actor: str, on_behalf_of: str | None = None) -> NewEvent:
            nonlocal version
            version += 1
            return NewEvent.of(
                payload,
                event_id=uuid.uuid5(_NAMESPACE, f"{stream}|{version}"),
                stream_id=stream,
                occurred_at=self._tick(),
                actor=actor,
                on_behalf_of=on_behalf_of,
                correlation_id=str(request_id),
                policy=_POLICY,
            )

        def quota(payload: EventPayload) -> AppendUnit:
            assert isinstance(payload, QuotaReserved | QuotaReleased | QuotaConsumed)
            quota_stream = f"quota-{payload.quota}"
            new = NewEvent.of(
                payload,
                event_id=uuid.uuid5(_NAMESPACE, f"{quota_stream}|{request_id}|{payload.TYPE}"),
                stream_id=quota_stream,
                occurred_at=self._tick(),
                actor="system",
                correlation_id=str(request_id),
                causation_id=str(request_id),
                policy=_POLICY,
            )
            return AppendUnit([new])

        def assign(round_: int, step: int) -> NewEvent:
            s = route[step]
            return event(
                TaskAssigned(
                    task_id=f"{request_id}:{round_}:{step}",
                    request_id=request_id,
                    round=round_,
                    step=step,
                    tier=s.tier,
                    assignee_nip=s.approver_nip,
                    assignee_name=s.approver_name,
                    remind_at=self.now + timedelta(days=1),
                    escalate_at=self.now + timedelta(days=2),
                ),
                "system",
            )

        submitted = RequestSubmitted(
            request_id=request_id,
            requester_nip=person.nip,
            requester_name=person.name,
            region=person.region,
            opd_code=person.opd_code,
            unit_code=person.unit_code,
            kind=kind,
            dates=dates,
            country="MY" if kind == RequestKind.WFA and rng.random() < 0.2 else None,
            personal=self._sealed(person.nip),
            body_sha256=hashlib.sha256(rng.randbytes(16)).hexdigest(),
        )
        routed = RouteDetermined(request_id=request_id, timezone="Asia/Makassar", route=route, citations=[_CITATION])
        yield AppendUnit(
            [event(submitted, person.nip), event(routed, "system"), assign(1, 0)],
            {stream: 0},
        )
        leave_quota = f"annual-leave:{person.nip}:2025"
        if kind == RequestKind.CUTI_TAHUNAN:
            used = self.leave_used.get(leave_quota, 0) + len(dates)
            self.leave_used[leave_quota] = used
            yield quota(
                QuotaReserved(quota=leave_quota, request_id=request_id, amount=len(dates), used_after=used, limit=12)
            )
        round_, step = 1, 0
        while True:
            s = route[step]
            roll = rng.random()
            if roll < 0.05:
                yield AppendUnit(
                    [event(RequestCancelled(request_id=request_id, round=round_, reason="batal"), person.nip)]
                )
                outcome = "cancelled"
                break
            decision = (
                DecisionKind.APPROVE if roll < 0.85 else DecisionKind.REJECT if roll < 0.93 else DecisionKind.RETURN
            )
            acting = s.on_behalf_of
            decided = event(
                DecisionRecorded(
                    task_id=f"{request_id}:{round_}:{step}",
                    request_id=request_id,
                    round=round_,
                    step=step,
                    tier=s.tier,
                    decision=decision,
                    comment=None if decision == DecisionKind.APPROVE else "Mohon dilengkapi rencana kerja",
                ),
                s.approver_nip,
                acting,
            )
            if decision == DecisionKind.REJECT:
                rejected = RequestRejected(request_id=request_id, round=round_, tier=s.tier, reason="ditolak")
                yield AppendUnit([decided, event(rejected, "system")])
                outcome = "rejected"
                break
            if decision == DecisionKind.RETURN and round_ < 3:
                returned = RequestReturned(request_id=request_id, round=round_, tier=s.tier, comment="lengkapi")
                yield AppendUnit([decided, event(returned, "system")])
                round_, step = round_ + 1, 0
                resubmitted = RequestResubmitted(
                    request_id=request_id,
                    round=round_,
                    dates=dates,
                    personal=self._sealed(person.nip),
                    body_sha256=hashlib.sha256(rng.randbytes(16)).hexdigest(),
                )
                yield AppendUnit([event(resubmitted, person.nip), assign(round_, 0)])
                continue
            if step + 1 < len(route):
                step += 1
                yield AppendUnit([decided, assign(round_, step)])
                continue
            approved = RequestApproved(request_id=request_id, round=round_, final_tier=s.tier)
            yield AppendUnit([decided, event(approved, "system")])
            outcome = "approved"
            break
        if kind == RequestKind.CUTI_TAHUNAN:
            if outcome == "approved":
                yield quota(QuotaConsumed(quota=leave_quota, request_id=request_id, amount=len(dates)))
            else:
                used = self.leave_used[leave_quota] - len(dates)
                self.leave_used[leave_quota] = used
                yield quota(
                    QuotaReleased(
                        quota=leave_quota,
                        request_id=request_id,
                        amount=len(dates),
                        used_after=used,
                        limit=12,
                        reason=outcome,
                    )
                )
