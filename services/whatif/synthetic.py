"""A synthetic season for the simulator's benchmark and tests: a large directory and a log of requests.

The log is made the way the live service makes it: every attempt is judged by the pure evaluator against
the usage the read models would show at that moment, refusals write nothing, and what is written follows
the approval workflow's order of events (leave reserved before the submission is recorded, unit slots
reserved at final approval, a tighter slot refusing the approval). Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from contracts.common import DecisionKind, Location, RequestKind, Role
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft
from contracts.events import (
    SYSTEM_ACTOR,
    DecisionRecorded,
    DirectoryImported,
    EventPayload,
    PolicyPackPublished,
    QuotaConsumed,
    QuotaReleased,
    QuotaReserved,
    RequestApproved,
    RequestCancelled,
    RequestExpired,
    RequestRejected,
    RequestResubmitted,
    RequestReturned,
    RequestSubmitted,
    RouteDetermined,
    TaskAssigned,
    request_stream,
)
from contracts.zones import fixed_zone
from eventstore.store import NewEvent
from policy.calendar import is_working_day
from policy.directory import DirectoryIndex, directory_sha256
from policy.evaluator import evaluate
from policy.packs import PackSet, load_pack
from services.whatif.ledger import UsageLedger
from services.whatif.simulator import LogEvent

NAMESPACE = uuid.UUID("5b0d7c1e-6a43-4f1f-9d2e-0c8a7b6e5f41")
REGIONS = ("kutai-timur", "bitung", "luwu-utara", "pesisir-barat", "kendari")
SEASON = (date(2025, 12, 1), date(2026, 1, 30))
OPD_CLASSES = ("vital", "direct_service", "support", "support", "direct_service")
FIRST_NAMES = ("Budi", "Sari", "Andi", "Dewi", "Made", "Nur", "Teguh", "Wulan", "Yusuf", "Citra", "Eka", "Gita")


def synthetic_directory(
    people_per_region: int, *, regions: tuple[str, ...] = REGIONS, unit_size: int = 10
) -> list[Person]:
    """PPK, inspector and admin per region, then OPDs of units with a head and staff each."""
    people: list[Person] = []
    seen: set[str] = set()
    serial = 0

    def nip(index: int, gender: int) -> str:
        nonlocal serial
        while True:
            serial += 1
            born = date(1966, 1, 1) + timedelta(days=(index * 37 + serial * 11) % (30 * 365))
            tmt = born.year + 24
            value = f"{born:%Y%m%d}{tmt:04d}{(serial % 12) + 1:02d}{gender}{serial % 1000:03d}"
            if value not in seen:
                seen.add(value)
                return value

    for r, region in enumerate(regions):
        count = 0

        def add(opd: str, opd_class: str, unit: str, roles: frozenset[Role], r: int = r, region: str = region) -> None:
            nonlocal count
            count += 1
            people.append(
                Person(
                    nip=nip(r * 100_000 + count, 1 + count % 2),
                    name=f"{FIRST_NAMES[count % len(FIRST_NAMES)]} {FIRST_NAMES[(count // 12) % len(FIRST_NAMES)]}",
                    employee_type=("PNS", "PNS", "PPPK", "PNS", "PPPK_PW")[count % 5],
                    region=region,
                    opd_code=opd,
                    opd_name=f"Perangkat Daerah {opd}",
                    opd_class=opd_class,
                    unit_code=unit,
                    unit_name=f"Unit {unit}",
                    roles=roles,
                )
            )

        add("SETDA-PPK", "support", "PPK", frozenset({Role.PPK}))
        add("INSPEKTORAT", "support", "INSP-1", frozenset({Role.INSPECTOR}))
        add("BKPSDM-ADM", "support", "ADM", frozenset({Role.ADMIN}))
        opd_index = 0
        while count < people_per_region:
            opd_index += 1
            opd = f"OPD{opd_index:03d}"
            opd_class = OPD_CLASSES[opd_index % len(OPD_CLASSES)]
            add(opd, opd_class, f"{opd}-SEK", frozenset({Role.OPD_HEAD}))
            for u in range(1, 5):
                unit = f"{opd}-U{u}"
                add(opd, opd_class, unit, frozenset({Role.UNIT_HEAD}))
                for _ in range(unit_size - 1):
                    add(opd, opd_class, unit, frozenset())
    return people


@dataclass
class _Request:
    request_id: uuid.UUID
    person: Person
    kind: RequestKind
    dates: list[date]
    country: str | None
    evaluation: Evaluation
    plan: str
    round: int = 1
    version: int = 0
    status: str = "PENDING"
    step: int = 0
    held_leave: list[tuple[str, int, int]] = field(default_factory=list)  # (quota, amount, limit)
    held_slots: list[tuple[str, int]] = field(default_factory=list)
    zone_first_day: datetime | None = None


@dataclass
class SeasonStats:
    attempts: int = 0
    refused_at_submit: int = 0
    recorded: int = 0
    events: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class SeasonWriter:
    """Emulates the live service over a synthetic season and yields the events it would store."""

    def __init__(self, people: list[Person], pack_texts: list[str], *, seed: int = 2025) -> None:
        self.rng = random.Random(seed)
        self.people = people
        self.index = DirectoryIndex(people)
        self.pack_texts = pack_texts
        self.packs = PackSet(load_pack(t) for t in pack_texts)
        self.ledger = UsageLedger()
        self.quotas: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self.requests: dict[uuid.UUID, _Request] = {}
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.sequence = 0
        self.stats = SeasonStats()
        self.staff = [p for p in people if not p.roles or Role.UNIT_HEAD in p.roles]

    # -- emitting -----------------------------------------------------------------------------------------

    def _event(self, stream: str, payload: EventPayload, at: datetime, actor: str, policy: Any = None) -> NewEvent:
        self.versions[stream] += 1
        version = self.versions[stream]
        self.stats.events += 1
        return NewEvent(
            event_id=uuid.uuid5(NAMESPACE, f"{stream}|{version}"),
            stream_id=stream,
            type=payload.TYPE,
            schema_version=payload.SCHEMA_VERSION,
            payload=payload.model_dump(mode="json"),
            occurred_at=at,
            actor=actor,
            correlation_id=stream,
            causation_id=None,
            policy=policy,
            clock="simulated",
        )

    def _schedule(self, at: datetime, action: str, subject: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (at, self.sequence, action, subject))

    # -- the season ---------------------------------------------------------------------------------------

    def events(self, n_requests: int) -> Iterator[NewEvent]:
        """The whole log: packs, directory, then requests until `n_requests` are recorded."""
        start = datetime.combine(SEASON[0] - timedelta(days=14), time(7), fixed_zone("Asia/Makassar"))
        for text in self.pack_texts:
            loaded = load_pack(text)
            payload = PolicyPackPublished(
                pack_id=loaded.id, version=loaded.version, sha256=loaded.sha256, region=loaded.pack.region, text=text
            )
            yield self._event(f"policy-{loaded.id}", payload, start, SYSTEM_ACTOR, loaded.ref.model_dump(mode="json"))
        yield self._event(
            "directory",
            DirectoryImported(
                sha256=directory_sha256(self.people),
                rows=len(self.people),
                people=[p.model_dump(mode="json") for p in self.people],
                added=sorted(p.nip for p in self.people),
            ),
            start,
            SYSTEM_ACTOR,
        )
        # Attempts spread over the season; some are refused and write nothing, so more are planned than
        # recorded, and submissions stop once `n_requests` are in the log (the rest of the season still runs).
        attempts = 0
        while self.stats.recorded < n_requests:
            for _ in range(max(50, (n_requests - self.stats.recorded) * 3 // 2)):
                attempts += 1
                self._plan_attempt(attempts)
            while self.queue:
                action = self.queue[0][2]
                if action == "submit" and self.stats.recorded >= n_requests:
                    heapq.heappop(self.queue)
                    continue
                yield from self._next()

    def _plan_attempt(self, number: int) -> None:
        rng = self.rng
        person = rng.choice(self.staff)
        roll = rng.random()
        if roll < 0.62:
            kind = RequestKind.WFH
        elif roll < 0.80:
            kind = RequestKind.WFA
        elif roll < 0.95:
            kind = RequestKind.CUTI_TAHUNAN
        else:
            kind = RequestKind.CUTI_SAKIT
        span = (SEASON[1] - SEASON[0]).days
        first = SEASON[0] + timedelta(days=rng.randrange(span))
        length = rng.choice((1, 1, 1, 2, 2, 3)) if kind != RequestKind.CUTI_SAKIT else rng.choice((1, 2, 3, 5))
        days = [first + timedelta(days=i) for i in range(length * 2)]
        if kind != RequestKind.CUTI_SAKIT:
            days = [d for d in days if is_working_day(d)][:length] or [first]
        else:
            days = days[:length]
        country = None
        if kind == RequestKind.WFA:
            country = "ID" if rng.random() < 0.93 else rng.choice(("MY", "SG", "PH"))
        zone = fixed_zone(self.packs.timezone_for(person.region))
        lead = timedelta(days=rng.randrange(1, 12), hours=rng.randrange(0, 9), minutes=rng.randrange(60))
        submit_at = datetime.combine(min(days), time(7), zone) - lead
        plan = rng.choices(("approve", "reject", "return", "cancel", "idle"), weights=(78, 8, 5, 5, 4))[0]
        attempt = {"person": person, "kind": kind, "dates": days, "country": country, "plan": plan, "n": number}
        self._schedule(submit_at, "submit", attempt)

    def _next(self) -> Iterator[NewEvent]:
        at, _, action, subject = heapq.heappop(self.queue)
        handler = getattr(self, f"_on_{action}")
        yield from handler(at, subject)

    # -- what the live service does -----------------------------------------------------------------------

    def _judge(
        self,
        person: Person,
        kind: RequestKind,
        dates: list[date],
        country: str | None,
        at: datetime,
        pinned: Any = None,
        resubmitting: str | None = None,
    ) -> Evaluation:
        usage = self.ledger.usage(
            nip=person.nip, region=person.region, unit_code=person.unit_code, dates=tuple(dates), excluding=resubmitting
        )
        location = Location(text="lokasi", country=country) if country else None
        return evaluate(
            packs=self.packs,
            requester=person,
            draft=RequestDraft(kind=kind, dates=dates, location=location, reason="sintetis"),
            directory=self.index,
            usage=usage,
            today=at,
            pinned=pinned,
        )

    def _reserve(self, claims: list[tuple[str, int, int]]) -> bool:
        if any(self.quotas[q] + amount > limit for q, amount, limit in claims):
            return False
        return True

    def _quota_events(
        self, r: _Request, operation: str, claims: list[tuple[str, int, int]], at: datetime, reason: str = ""
    ) -> list[NewEvent]:
        out = []
        policy = r.evaluation.policy.model_dump(mode="json")
        for quota, amount, limit in claims:
            payload: EventPayload
            if operation == "reserve":
                self.quotas[quota] += amount
                payload = QuotaReserved(
                    quota=quota, request_id=r.request_id, amount=amount, used_after=self.quotas[quota], limit=limit
                )
                if quota.startswith("annual-leave:"):
                    _, nip, year = quota.split(":")
                    self.ledger.leave_reserved(nip, int(year), str(r.request_id), amount)
            elif operation == "release":
                self.quotas[quota] = max(0, self.quotas[quota] - amount)
                payload = QuotaReleased(
                    quota=quota,
                    request_id=r.request_id,
                    amount=amount,
                    used_after=self.quotas[quota],
                    limit=limit,
                    reason=reason,
                )
                if quota.startswith("annual-leave:"):
                    _, nip, year = quota.split(":")
                    self.ledger.leave_released(nip, int(year), str(r.request_id), amount)
            else:
                payload = QuotaConsumed(quota=quota, request_id=r.request_id, amount=amount)
            out.append(self._event(f"quota-{quota}", payload, at, SYSTEM_ACTOR, policy))
        return out

    def _leave_claims(self, r: _Request, evaluation: Evaluation) -> list[tuple[str, int, int]]:
        debit = evaluation.leave_debit
        if debit is None or debit.days <= 0:
            return []
        return [(f"annual-leave:{r.person.nip}:{debit.year}", debit.days, debit.entitlement)]

    def _request_event(self, r: _Request, payload: EventPayload, at: datetime, actor: str = SYSTEM_ACTOR) -> NewEvent:
        return self._event(
            request_stream(r.request_id), payload, at, actor, r.evaluation.policy.model_dump(mode="json")
        )

    def _route_events(self, r: _Request, at: datetime) -> list[NewEvent]:
        ev = r.evaluation
        route = RouteDetermined(
            request_id=r.request_id,
            round=r.round,
            timezone=ev.timezone,
            route=list(ev.route),
            caps=list(ev.caps),
            leave_debit=ev.leave_debit,
            obligations=list(ev.obligations),
            timers=ev.timers,
            resubmit_from=ev.resubmit_from,
            working_days=ev.working_days,
            citations=list(ev.citations),
        )
        return [self._request_event(r, route, at), self._assign(r, 0, at)]

    def _assign(self, r: _Request, step: int, at: datetime) -> NewEvent:
        r.step = step
        s = r.evaluation.route[step]
        return self._request_event(
            r,
            TaskAssigned(
                task_id=f"{r.request_id}-r{r.round}s{step}",
                request_id=r.request_id,
                round=r.round,
                step=step,
                tier=s.tier,
                action=s.action,
                assignee_nip=s.approver_nip,
                assignee_name=s.approver_name,
            ),
            at,
        )

    def _on_submit(self, at: datetime, attempt: dict[str, Any]) -> Iterator[NewEvent]:
        self.stats.attempts += 1
        person: Person = attempt["person"]
        evaluation = self._judge(person, attempt["kind"], attempt["dates"], attempt["country"], at)
        if not evaluation.allowed:
            self.stats.refused_at_submit += 1
            return
        r = _Request(
            request_id=uuid.uuid5(NAMESPACE, f"request|{attempt['n']}"),
            person=person,
            kind=attempt["kind"],
            dates=sorted(set(attempt["dates"])),
            country=attempt["country"],
            evaluation=evaluation,
            plan=attempt["plan"],
        )
        claims = self._leave_claims(r, evaluation)
        if not self._reserve(claims):
            self.stats.refused_at_submit += 1
            return
        self.requests[r.request_id] = r
        self.stats.recorded += 1
        yield from self._quota_events(r, "reserve", claims, at)
        r.held_leave = claims
        submitted = RequestSubmitted(
            request_id=r.request_id,
            requester_nip=person.nip,
            requester_name=person.name,
            region=person.region,
            opd_code=person.opd_code,
            unit_code=person.unit_code,
            kind=r.kind,
            dates=r.dates,
            country=r.country,
            body_sha256="0" * 64,
        )
        yield self._request_event(r, submitted, at, person.nip)
        yield from self._route_events(r, at)
        self.ledger.submitted(
            str(r.request_id),
            nip=person.nip,
            region=person.region,
            unit_code=person.unit_code,
            kind=r.kind,
            dates=tuple(r.dates),
        )
        zone = fixed_zone(evaluation.timezone)
        r.zone_first_day = datetime.combine(min(r.dates), time(0), zone)
        self._schedule(r.zone_first_day + timedelta(days=1), "expire", r)
        self._plan_next(r, at)

    def _plan_next(self, r: _Request, at: datetime) -> None:
        later = at + timedelta(minutes=self.rng.randrange(20, 600))
        if r.plan == "cancel":
            self._schedule(later, "cancel", r)
        elif r.plan != "idle":
            self._schedule(later, "decide", r)

    def _on_decide(self, at: datetime, r: _Request) -> Iterator[NewEvent]:
        if r.status != "PENDING":
            return
        step = r.evaluation.route[r.step]
        if r.plan == "reject" and r.step == len(r.evaluation.route) - 1:
            decision = DecisionKind.REJECT
        elif r.plan == "return" and r.round == 1:
            decision = DecisionKind.RETURN
        else:
            decision = DecisionKind.APPROVE
        recorded = DecisionRecorded(
            task_id=f"{r.request_id}-r{r.round}s{r.step}",
            request_id=r.request_id,
            round=r.round,
            step=r.step,
            tier=step.tier,
            decision=decision,
            comment=None if decision == DecisionKind.APPROVE else "catatan",
        )
        yield self._request_event(r, recorded, at, step.approver_nip)
        if decision == DecisionKind.REJECT:
            yield self._request_event(
                r,
                RequestRejected(request_id=r.request_id, round=r.round, tier=step.tier, reason="catatan"),
                at,
                step.approver_nip,
            )
            yield from self._end(r, "REJECTED", at, "ditolak")
        elif decision == DecisionKind.RETURN:
            yield self._request_event(
                r,
                RequestReturned(request_id=r.request_id, round=r.round, tier=step.tier, comment="perbaiki"),
                at,
                step.approver_nip,
            )
            r.status = "RETURNED"
            self.ledger.returned(str(r.request_id))
            self._schedule(at + timedelta(minutes=self.rng.randrange(30, 240)), "resubmit", r)
        elif r.step + 1 < len(r.evaluation.route):
            yield self._assign(r, r.step + 1, at)
            self._schedule(at + timedelta(minutes=self.rng.randrange(20, 600)), "decide", r)
        else:
            yield from self._final_approval(r, at)

    def _final_approval(self, r: _Request, at: datetime) -> Iterator[NewEvent]:
        claims = []
        for cap in r.evaluation.caps:
            if r.kind in cap.kinds:
                claims += [
                    (f"unit-cap:{r.person.region}:{cap.unit_code}:{d.isoformat()}", 1, cap.cap)
                    for d in r.dates
                    if d in cap.dates
                ]
        if not self._reserve(claims):
            quota = next(q for q, a, limit in claims if self.quotas[q] + a > limit)
            limit = next(limit for q, _, limit in claims if q == quota)
            message = (
                f"Batas harian unit sudah tercapai ({self.quotas[quota]} dari {limit} pegawai); "
                "pengajuan tidak dapat disetujui."
            )
            cited = [next(c.citation for c in r.evaluation.caps)]
            yield self._request_event(
                r,
                RequestRejected(
                    request_id=r.request_id,
                    round=r.round,
                    tier=r.evaluation.route[-1].tier,
                    code="unit_cap_reached",
                    reason=message,
                    citations=cited,
                ),
                at,
            )
            yield from self._end(r, "REJECTED", at, "ditolak karena batas unit")
            return
        yield from self._quota_events(r, "reserve", claims, at)
        r.held_slots = [(q, limit) for q, _, limit in claims]
        yield self._request_event(
            r, RequestApproved(request_id=r.request_id, round=r.round, final_tier=r.evaluation.route[-1].tier), at
        )
        r.status = "APPROVED"
        self.ledger.approved(str(r.request_id))
        yield from self._quota_events(r, "consume", r.held_leave, at)
        self.stats.outcomes["APPROVED"] += 1
        if self.rng.random() < 0.04:
            self._schedule(at + timedelta(hours=1), "cancel", r)

    def _end(self, r: _Request, status: str, at: datetime, reason: str) -> Iterator[NewEvent]:
        r.status = status
        self.ledger.finished(str(r.request_id), status)
        held = r.held_leave + [(q, 1, limit) for q, limit in r.held_slots]
        r.held_leave, r.held_slots = [], []
        yield from self._quota_events(r, "release", held, at, reason)
        self.stats.outcomes[status] += 1

    def _on_resubmit(self, at: datetime, r: _Request) -> Iterator[NewEvent]:
        if r.status != "RETURNED":
            return
        dates = r.dates
        if self.rng.random() < 0.5:
            moved = [d + timedelta(days=1) for d in r.dates]
            if all(is_working_day(d) for d in moved):
                dates = moved
        evaluation = self._judge(
            r.person, r.kind, dates, r.country, at, pinned=r.evaluation.policy, resubmitting=str(r.request_id)
        )
        if not evaluation.allowed:
            return  # refused resubmission: the request stays returned and will expire
        new_leave = self._leave_claims(r, evaluation)
        if [(q, a) for q, a, _ in new_leave] != [(q, a) for q, a, _ in r.held_leave]:
            returning = {q: a for q, a, _ in r.held_leave}
            adjusted = [(q, a, limit + returning.get(q, 0)) for q, a, limit in new_leave]
            if not self._reserve(adjusted):
                return
            events = self._quota_events(r, "reserve", adjusted, at)
            events += self._quota_events(r, "release", r.held_leave, at, "diajukan ulang")
            yield from events
            r.held_leave = new_leave
        r.round += 1
        r.evaluation = evaluation
        r.dates = dates
        yield self._request_event(
            r,
            RequestResubmitted(
                request_id=r.request_id, round=r.round, dates=dates, country=r.country, body_sha256="1" * 64
            ),
            at,
            r.person.nip,
        )
        yield from self._route_events(r, at)
        r.status = "PENDING"
        self.ledger.resubmitted(str(r.request_id), tuple(dates))
        self._schedule(at + timedelta(minutes=self.rng.randrange(20, 600)), "decide", r)

    def _on_cancel(self, at: datetime, r: _Request) -> Iterator[NewEvent]:
        if r.status not in ("PENDING", "RETURNED", "APPROVED") or (r.zone_first_day and at >= r.zone_first_day):
            return
        after = r.status == "APPROVED"
        yield self._request_event(
            r, RequestCancelled(request_id=r.request_id, round=r.round, after_approval=after), at, r.person.nip
        )
        yield from self._end(r, "CANCELLED", at, "dibatalkan")

    def _on_expire(self, at: datetime, r: _Request) -> Iterator[NewEvent]:
        if r.status not in ("PENDING", "RETURNED"):
            return
        yield self._request_event(r, RequestExpired(request_id=r.request_id, round=r.round, first_day=min(r.dates)), at)
        yield from self._end(r, "EXPIRED", at, "kedaluwarsa")


def as_log(events: list[NewEvent]) -> list[LogEvent]:
    """The events as the store would hand them back (positions in order, JSON values)."""
    return [
        LogEvent(position=i, type=e.type, occurred_at=e.occurred_at, policy=e.policy, payload=e.payload)
        for i, e in enumerate(events, start=1)
    ]
