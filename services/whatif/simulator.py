"""The what-if simulator: fold the log once, judge every request again under a draft pack, report the change.

Pure: it is fed stored events in position order and writes nothing. At each submission it rebuilds what
the live service knew then — the requester's directory record, the packs in force, the unit's approved
flexible work that day, the requester's own approved and pending dates and annual leave — and asks the
pure evaluator twice: once as the live service did (which must reproduce the recorded `RouteDetermined`;
the report counts any difference under `fidelity`) and once under the draft.

The draft is judged in its own world: a request the draft refuses never holds a unit slot, a day or leave
in that world, so later requests see the usage the draft would have left. Everything people did — the
approvers' decisions, cancellations, expiry — is taken as recorded. The final approval reserves the unit's
daily slots as the workflow does, so a tighter cap refuses exactly the approvals above it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.common import Location, PolicyRef, RequestKind, TravelPurpose
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft, UsageSnapshot
from policy.evaluator import evaluate
from policy.packs import LoadedPack
from services.whatif.decision import (
    CitationPool,
    Decision,
    Stage,
    from_evaluation,
    from_record,
    parse_days,
)
from services.whatif.history import DirectoryHistory, PackHistory
from services.whatif.ledger import UsageLedger

# Personal text is sealed in the store and the rules never read it; the draft carries a placeholder.
SEALED_TEXT = "(teks pribadi tersegel; tidak dipakai untuk menilai)"
Rejudged = Callable[[str, int, "Judged"], None]


@dataclass(frozen=True, slots=True)
class LogEvent:
    """The parts of a stored event the simulator reads."""

    position: int
    type: str
    occurred_at: datetime
    policy: dict[str, Any] | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("akhir periode sebelum awalnya")

    def overlaps(self, days: Iterable[date]) -> bool:
        return any(self.start <= d <= self.end for d in days)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Fidelity:
    """How the recorded decisions compared with judging them again as the live service did."""

    checked: int
    unreproduced: int
    mismatched: tuple[str, ...]
    reproduced: dict[str, bool]


@dataclass(frozen=True, slots=True)
class Judged:
    """One evaluation with what it was asked, so the other world can reuse it when it would ask the same."""

    evaluation: Evaluation
    usage: UsageSnapshot
    pinned: PolicyRef | None


@dataclass(slots=True)
class Tracked:
    request_id: str
    position: int
    nip: str
    name: str
    region: str
    opd_code: str
    unit_code: str
    kind: RequestKind
    dates: tuple[date, ...]
    country: str | None
    simulated: bool  # in scope and the requester is in the directory: judged again
    mirrored: bool  # the draft world follows the record (not judged under a draft)
    status: str = "PENDING"
    round: int = 1
    travel_purpose: TravelPurpose | None = None
    then: Decision | None = None
    then_ref: dict[str, Any] | None = None
    rejudged: Decision | None = None
    reproduced: bool | None = None
    draft: Decision | None = None
    draft_status: str | None = None
    draft_pin: PolicyRef | None = None
    draft_dates: tuple[date, ...] = ()
    draft_leave: list[tuple[int, int]] = field(default_factory=list)
    draft_slots: list[tuple[str, str, date]] = field(default_factory=list)


class Simulation:
    def __init__(
        self,
        *,
        draft: LoadedPack | None,
        period: Period,
        regions: frozenset[str] | None,
        bundled_pack_texts: Iterable[str],
        verify: bool = True,
        on_rejudged: Rejudged | None = None,
    ) -> None:
        self.draft_pack = draft
        self.period = period
        self.regions = regions
        self.verify = verify
        self.on_rejudged = on_rejudged
        self.packs = PackHistory(bundled_pack_texts, draft)
        self.directory = DirectoryHistory()
        self.real = UsageLedger()
        self.world = UsageLedger()
        self.slots: Counter[tuple[str, str, date]] = Counter()
        self.citations = CitationPool()
        self.tracked: dict[str, Tracked] = {}
        self._drafts: dict[
            tuple[RequestKind, tuple[date, ...], str | None, TravelPurpose | None, int], RequestDraft
        ] = {}
        # supporting documents per request, as recorded before its submission or resubmission
        self.attachments: dict[str, int] = {}
        self.held_back: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.last_position = 0
        self.checked = 0
        self.unreproduced = 0
        self.mismatched: list[str] = []
        self._handlers: dict[str, Callable[[LogEvent], None]] = {
            "PolicyPackPublished": self._pack_published,
            "DirectoryImported": self._directory_imported,
            "RequestSubmitted": self._submitted,
            "RouteDetermined": self._route_determined,
            "RequestReturned": self._returned,
            "RequestResubmitted": self._resubmitted,
            "RequestApproved": self._approved,
            "RequestRejected": self._rejected,
            "RequestCancelled": self._ended,
            "RequestExpired": self._ended,
            "QuotaReserved": self._leave_changed,
            "QuotaReleased": self._leave_changed,
            "LeaveAttachmentsStored": self._attachments_stored,
        }

    # -- feeding ------------------------------------------------------------------------------------------

    def feed(self, event: LogEvent) -> None:
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)
        self.last_position = event.position

    def feed_all(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            self.feed(event)

    def in_scope(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def _pack_published(self, event: LogEvent) -> None:
        self.packs.published(event.payload["text"], event.payload.get("sha256"))

    def _directory_imported(self, event: LogEvent) -> None:
        self.directory.imported(event.payload["people"])

    # -- submission ---------------------------------------------------------------------------------------

    def _attachments_stored(self, event: LogEvent) -> None:
        self.attachments[str(event.payload["request_id"])] = len(event.payload.get("attachments") or ())

    def _draft_of(
        self,
        kind: RequestKind,
        dates: tuple[date, ...],
        country: str | None,
        purpose: TravelPurpose | None = None,
        attachments: int = 0,
    ) -> RequestDraft:
        # A season repeats the same few hundred (kind, dates, country); the draft is immutable, so share it.
        key = (kind, dates, country, purpose, attachments)
        found = self._drafts.get(key)
        if found is None:
            location = Location(text=SEALED_TEXT, country=country) if country else None
            found = self._drafts[key] = RequestDraft(
                kind=kind,
                dates=list(dates),
                location=location,
                reason=SEALED_TEXT,
                travel_purpose=purpose,
                attachments=attachments,
            )
        return found

    def _submitted(self, event: LogEvent) -> None:
        p = event.payload
        rid = str(p["request_id"])
        kind = RequestKind(p["kind"])
        dates = parse_days(p["dates"])
        person = self.directory.index.get(p["requester_nip"])
        simulated = self.in_scope(p["region"]) and person is not None
        t = Tracked(
            request_id=rid,
            position=event.position,
            nip=p["requester_nip"],
            name=p["requester_name"],
            region=p["region"],
            opd_code=p["opd_code"],
            unit_code=p["unit_code"],
            kind=kind,
            dates=dates,
            country=p.get("country"),
            travel_purpose=p.get("travel_purpose"),
            simulated=simulated,
            mirrored=not (simulated and self.draft_pack is not None),
        )
        self.tracked[rid] = t
        if simulated:
            assert person is not None
            request = self._draft_of(kind, dates, t.country, t.travel_purpose, self.attachments.get(rid, 0))
            then = self._rejudge(t, person, request, event, pinned=None) if self.verify else None
            if not t.mirrored:
                self._judge_draft_submission(t, person, request, event, then)
        self.real.submitted(rid, nip=t.nip, region=t.region, unit_code=t.unit_code, kind=kind, dates=dates)
        if t.mirrored:
            self.world.submitted(rid, nip=t.nip, region=t.region, unit_code=t.unit_code, kind=kind, dates=dates)
        self._release_held_back(t)

    def _rejudge(
        self, t: Tracked, person: Person, request: RequestDraft, event: LogEvent, pinned: PolicyRef | None
    ) -> Judged | None:
        """Judge as the live service did, from the recorded world; compared with the next RouteDetermined."""
        usage = self.real.usage(
            nip=t.nip,
            region=person.region,
            unit_code=person.unit_code,
            dates=tuple(request.dates),
            excluding=None if pinned is None else t.request_id,
        )
        stage: Stage = "submit" if pinned is None else "resubmit"
        try:
            evaluation = evaluate(
                packs=self.packs.current,
                requester=person,
                draft=request,
                directory=self.directory.index,
                usage=usage,
                today=event.occurred_at,
                pinned=pinned,
            )
        except LookupError:
            t.rejudged = None
            t.reproduced = False
            return None
        round_ = t.round + (0 if pinned is None else 1)
        t.rejudged = from_evaluation(evaluation, self.citations, stage=stage, round=round_)
        judged = Judged(evaluation, usage, pinned)
        if self.on_rejudged is not None:
            self.on_rejudged(t.request_id, round_, judged)
        return judged

    def _reusable(self, then: Judged | None, usage: UsageSnapshot, region: str, pinned: PolicyRef | None) -> bool:
        """The draft world would ask the same question of the same packs: the recorded answer stands."""
        if then is None or then.usage != usage:
            return False
        if pinned is not None or then.pinned is not None:
            return (
                pinned is not None
                and then.pinned is not None
                and pinned.sha256 == then.pinned.sha256
                and (_sha(self.packs.current.for_region(region)) == _sha(self.packs.with_draft.for_region(region)))
            )
        current, drafted = self.packs.current, self.packs.with_draft
        return _sha(current.for_region(region)) == _sha(drafted.for_region(region)) and (
            current.baseline.sha256 == drafted.baseline.sha256
        )

    def _judge_draft_submission(
        self, t: Tracked, person: Person, request: RequestDraft, event: LogEvent, then: Judged | None
    ) -> None:
        usage = self.world.usage(nip=t.nip, region=person.region, unit_code=person.unit_code, dates=t.dates)
        if then is not None and self._reusable(then, usage, person.region, None):
            evaluation = then.evaluation
        else:
            evaluation = evaluate(
                packs=self.packs.with_draft,
                requester=person,
                draft=request,
                directory=self.directory.index,
                usage=usage,
                today=event.occurred_at,
            )
        t.draft = from_evaluation(evaluation, self.citations, stage="submit", round=1)
        if not evaluation.allowed:
            t.draft_status = "REFUSED"
            return
        t.draft_status = "PENDING"
        t.draft_pin = evaluation.policy
        t.draft_dates = t.dates
        self.world.submitted(
            t.request_id, nip=t.nip, region=t.region, unit_code=t.unit_code, kind=t.kind, dates=t.dates
        )
        t.draft_leave = _leave_claims(t.draft)
        for year, days in t.draft_leave:
            self.world.leave_reserved(t.nip, year, t.request_id, days)

    def _route_determined(self, event: LogEvent) -> None:
        t = self.tracked.get(str(event.payload["request_id"]))
        if t is None:
            return
        round_ = int(event.payload.get("round", 1))
        t.then = from_record(event.payload, event.policy, self.citations, stage="submit" if round_ == 1 else "resubmit")
        t.then_ref = event.policy
        if not (t.simulated and self.verify):
            return
        same = t.rejudged is not None and t.rejudged.same_judgement(t.then)
        t.reproduced = same if t.reproduced is None else (t.reproduced and same)
        self.checked += 1
        if not same:
            self.unreproduced += 1
            self.mismatched.append(t.request_id)
        t.rejudged = None

    # -- the rest of the lifecycle ------------------------------------------------------------------------

    def _returned(self, event: LogEvent) -> None:
        t = self.tracked.get(str(event.payload["request_id"]))
        if t is None:
            return
        t.status = "RETURNED"
        self.real.returned(t.request_id)
        if t.mirrored or t.draft_status == "PENDING":
            self.world.returned(t.request_id)
            if not t.mirrored:
                t.draft_status = "RETURNED"

    def _resubmitted(self, event: LogEvent) -> None:
        p = event.payload
        t = self.tracked.get(str(p["request_id"]))
        if t is None:
            return
        dates = parse_days(p["dates"])
        t.country = p.get("country")
        person = self.directory.index.get(t.nip)
        if t.simulated and person is not None:
            request = self._draft_of(t.kind, dates, t.country, t.travel_purpose, self.attachments.get(t.request_id, 0))
            then: Judged | None = None
            if self.verify:
                pinned = PolicyRef.model_validate(t.then_ref) if t.then_ref else None
                if pinned is None:
                    t.reproduced = False
                else:
                    then = self._rejudge(t, person, request, event, pinned=pinned)
            if not t.mirrored and t.draft_status == "RETURNED":
                self._judge_draft_resubmission(t, person, request, dates, event, int(p["round"]), then)
        t.round = int(p["round"])
        t.dates = dates
        t.status = "PENDING"
        self.real.resubmitted(t.request_id, dates)
        if t.mirrored:
            self.world.resubmitted(t.request_id, dates)
        self._release_held_back(t)

    def _judge_draft_resubmission(
        self,
        t: Tracked,
        person: Person,
        request: RequestDraft,
        dates: tuple[date, ...],
        event: LogEvent,
        round_: int,
        then: Judged | None,
    ) -> None:
        usage = self.world.usage(
            nip=t.nip, region=person.region, unit_code=person.unit_code, dates=dates, excluding=t.request_id
        )
        if then is not None and self._reusable(then, usage, person.region, t.draft_pin):
            evaluation = then.evaluation
        else:
            try:
                evaluation = evaluate(
                    packs=self.packs.with_draft,
                    requester=person,
                    draft=request,
                    directory=self.directory.index,
                    usage=usage,
                    today=event.occurred_at,
                    pinned=t.draft_pin,
                )
            except LookupError:
                return
        decision = from_evaluation(evaluation, self.citations, stage="resubmit", round=round_)
        t.draft = decision
        if not evaluation.allowed:
            return  # a refused resubmission leaves the returned request as it was
        claims = _leave_claims(decision)
        if claims != t.draft_leave:
            # as the workflow does: reserve the new days, then give back the old ones
            for year, days in claims:
                self.world.leave_reserved(t.nip, year, t.request_id, days)
            for year, days in t.draft_leave:
                self.world.leave_released(t.nip, year, t.request_id, days)
            t.draft_leave = claims
        t.draft_dates = dates
        t.draft_status = "PENDING"
        self.world.resubmitted(t.request_id, dates)

    def _approved(self, event: LogEvent) -> None:
        t = self.tracked.get(str(event.payload["request_id"]))
        if t is None:
            return
        t.status = "APPROVED"
        self.real.approved(t.request_id)
        if t.mirrored:
            self.world.approved(t.request_id)
        elif t.draft_status == "PENDING":
            self._draft_final_approval(t)

    def _draft_final_approval(self, t: Tracked) -> None:
        """Every tier agreed; the unit's daily slots are reserved all-or-nothing as the workflow does."""
        assert t.draft is not None
        claims: list[tuple[tuple[str, str, date], int, dict[str, str]]] = []
        for cap in t.draft.caps:
            if t.kind in cap.kinds:
                claims += [
                    ((t.region, cap.unit_code, d), cap.cap, cap.citation) for d in t.draft_dates if d in cap.dates
                ]
        for slot, limit, citation in claims:
            used = self.slots[slot]
            if used + 1 > limit:
                message = (
                    f"Batas harian unit sudah tercapai ({used} dari {limit} pegawai); pengajuan tidak dapat disetujui."
                )
                t.draft = t.draft.refused_at_approval("unit_cap_reached", message, (citation,))
                self._draft_end(t, "REJECTED")
                return
        for slot, _, _ in claims:
            self.slots[slot] += 1
        t.draft_slots = [slot for slot, _, _ in claims]
        t.draft_status = "APPROVED"
        self.world.approved(t.request_id)

    def _rejected(self, event: LogEvent) -> None:
        p = event.payload
        t = self.tracked.get(str(p["request_id"]))
        if t is None:
            return
        t.status = "REJECTED"
        code = p.get("code") or "rejected_by_approver"
        by_cap = code == "unit_cap_reached"
        if by_cap and t.then is not None:
            cited = tuple(self.citations.of_dict(c) for c in p.get("citations", ()))
            t.then = t.then.refused_at_approval(code, p.get("reason") or "", cited)
        self.real.finished(t.request_id, "REJECTED")
        if t.mirrored:
            self.world.finished(t.request_id, "REJECTED")
        elif t.draft_status == "PENDING" and by_cap:
            self._draft_final_approval(t)  # every approver agreed; only the recorded cap refused it
        elif t.draft_status in ("PENDING", "RETURNED"):
            self._draft_end(t, "REJECTED")

    def _ended(self, event: LogEvent) -> None:
        t = self.tracked.get(str(event.payload["request_id"]))
        if t is None:
            return
        status = "CANCELLED" if event.type == "RequestCancelled" else "EXPIRED"
        t.status = status
        self.real.finished(t.request_id, status)
        if t.mirrored:
            self.world.finished(t.request_id, status)
        elif t.draft_status in ("PENDING", "RETURNED", "APPROVED"):
            self._draft_end(t, status)

    def _draft_end(self, t: Tracked, status: str) -> None:
        for slot in t.draft_slots:
            self.slots[slot] -= 1
        t.draft_slots = []
        for year, _ in t.draft_leave:
            self.world.leave_released(t.nip, year, t.request_id)
        t.draft_leave = []
        t.draft_status = status
        self.world.finished(t.request_id, status)

    # -- annual leave as recorded -------------------------------------------------------------------------

    def _leave_changed(self, event: LogEvent) -> None:
        p = event.payload
        if not str(p.get("quota", "")).startswith("annual-leave:"):
            return
        rid = str(p["request_id"])
        t = self.tracked.get(rid)
        if t is None or t.status == "RETURNED":
            # The workflow reserves leave after judging and before recording the (re)submission; the
            # evaluator did not see it, so it is applied once the submission has been judged again.
            self.held_back[rid].append((event.type, p))
            return
        self._apply_leave(t, event.type, p)

    def _release_held_back(self, t: Tracked) -> None:
        for kind, p in self.held_back.pop(t.request_id, ()):
            self._apply_leave(t, kind, p)

    def _apply_leave(self, t: Tracked, kind: str, p: dict[str, Any]) -> None:
        _, nip, year = str(p["quota"]).split(":")
        ledgers = (self.real, self.world) if t.mirrored else (self.real,)
        for ledger in ledgers:
            if kind == "QuotaReserved":
                ledger.leave_reserved(nip, int(year), t.request_id, int(p["amount"]))
            else:
                ledger.leave_released(nip, int(year), t.request_id, int(p["amount"]))

    # -- fidelity -----------------------------------------------------------------------------------------

    def fidelity(self) -> Fidelity:
        return Fidelity(
            checked=self.checked,
            unreproduced=self.unreproduced,
            mismatched=tuple(self.mismatched),
            reproduced={rid: t.reproduced for rid, t in self.tracked.items() if t.reproduced is not None},
        )

    def adopt(self, fidelity: Fidelity) -> None:
        """Take the comparison made elsewhere (a worker process folding the same log) as this run's own."""
        self.verify = True
        self.checked = fidelity.checked
        self.unreproduced = fidelity.unreproduced
        self.mismatched = list(fidelity.mismatched)
        for rid, reproduced in fidelity.reproduced.items():
            t = self.tracked.get(rid)
            if t is not None:
                t.reproduced = reproduced


def _sha(loaded: LoadedPack | None) -> str | None:
    return loaded.sha256 if loaded is not None else None


def _leave_claims(decision: Decision) -> list[tuple[int, int]]:
    debit = decision.leave
    if decision.outcome != "allowed" or debit is None or debit.days <= 0:
        return []
    return [(debit.year, debit.days)]
