"""What the request form offers a person: the one seam between the portal and the policy packs.

For now the answer is static (the Nataru window of the seeds and the leave kinds of PP 11/2017 / PP 49/2018);
the pack-driven evaluator replaces the body of `form_options` without touching the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from contracts.common import Location, RequestKind
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft
from contracts.zones import fixed_zone
from policy.evaluator import evaluate, window_days
from services.kernel.container import Container

KIND_LABELS = {
    RequestKind.WFH: "Kerja dari rumah (WFH)",
    RequestKind.WFA: "Kerja dari mana saja (WFA)",
    RequestKind.CUTI_TAHUNAN: "Cuti tahunan",
    RequestKind.CUTI_SAKIT: "Cuti sakit",
    RequestKind.CUTI_ALASAN_PENTING: "Cuti karena alasan penting",
    RequestKind.CUTI_BESAR: "Cuti besar",
    RequestKind.CUTI_MELAHIRKAN: "Cuti melahirkan",
    RequestKind.IZIN_LUAR_NEGERI: "Izin ke luar negeri",
    RequestKind.CLTN: "Cuti di luar tanggungan negara",
}
BASELINE_HORIZON_DAYS = 14
# Refusals that mean "this kind is not for you", as opposed to "not on this day" or "not with this balance".
NOT_FOR_YOU = {
    "kind_not_allowed",
    "employee_type_not_allowed",
    "opd_class_not_allowed",
    "vital_opd_wfo_only",
    "direct_service_wfo",
    "not_eligible",
    "service_too_short",
    "no_approver",
}


@dataclass(frozen=True)
class DateWindow:
    start: date
    end: date
    # "days": tick individual dates (short windows); "range": first and last day (leave spans)
    pick: Literal["days", "range"]

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class DocumentNeed:
    """A supporting document the pack asks for, as the form explains it: what, when, and on what basis."""

    document: str
    clause: str
    source: str
    more_than_days: int = 0
    waives_min_service: bool = False

    @property
    def when(self) -> str:
        if self.waives_min_service:
            return "bila masa kerja Anda belum memenuhi syarat"
        if self.more_than_days:
            return f"wajib bila lebih dari {self.more_than_days} hari"
        return "wajib"


@dataclass(frozen=True)
class KindOption:
    kind: RequestKind
    label: str
    windows: tuple[DateWindow, ...]
    needs_location: bool
    abroad_allowed: bool = True
    needs_purpose: bool = False
    documents: tuple[DocumentNeed, ...] = ()

    def allows(self, day: date) -> bool:
        return any(w.contains(day) for w in self.windows)


@dataclass(frozen=True)
class FormOptions:
    kinds: tuple[KindOption, ...]
    timezone: str
    today: date

    def option(self, kind: str | None) -> KindOption | None:
        return next((k for k in self.kinds if k.kind.value == kind), None)


async def region_zone(c: Container, region: str) -> str:
    """IANA zone of a region (WIB/WITA/WIT), as its policy pack says."""
    return (await c.policy.packs()).timezone_for(region)


async def form_options(c: Container, person: Person) -> FormOptions:
    """Ask the evaluator itself, dry-run, which kinds and days it would allow: the form never disagrees with it."""
    packs = await c.policy.packs()
    zone = packs.timezone_for(person.region)
    now = c.clock.now()
    today = now.astimezone(fixed_zone(zone)).date()
    directory = await c.reads.directory()
    regional = packs.for_region(person.region)
    window = sorted(d for d in (window_days(regional) if regional else frozenset()) if d >= today)
    horizon = [today + timedelta(days=i) for i in range(BASELINE_HORIZON_DAYS)]
    candidates = sorted(set(window) | set(horizon))
    usage = await c.reads.usage_for(person, candidates)

    def verdict(kind: RequestKind, day: date) -> Evaluation:
        location = Location(text="-", country="ID") if kind == RequestKind.WFA else None
        purpose = None
        if kind.is_travel_abroad:
            location, purpose = Location(text="-", country="SG"), "dinas"
        draft = RequestDraft(kind=kind, dates=[day], location=location, reason="-", travel_purpose=purpose)
        return evaluate(packs=packs, requester=person, draft=draft, directory=directory, usage=usage, today=now)

    kinds: list[KindOption] = []
    for kind in (RequestKind.WFH, RequestKind.WFA):
        allowed = [d for d in candidates if verdict(kind, d).allowed]
        if allowed:
            windows = tuple(DateWindow(d, d, pick="days") for d in allowed)
            kinds.append(KindOption(kind, KIND_LABELS[kind], windows, needs_location=kind == RequestKind.WFA))
    # Leave may be asked after the fact (sick leave is), so the form does not cut the past off: the evaluator
    # decides, and its refusal cites the clause.
    leave = (DateWindow(date(today.year, 1, 1), date(today.year + 1, 12, 31), pick="range"),)
    probe_day = next((d for d in horizon if d.weekday() < 5 and d > today), today + timedelta(days=1))
    in_force = regional or packs.baseline
    for kind in (k for k in RequestKind if k.is_leave):
        refusal = verdict(kind, probe_day).refusal
        if refusal is None or refusal.code not in NOT_FOR_YOU:
            rule = next((r for r in in_force.pack.leave.kinds if r.kind == kind), None)
            documents = tuple(
                DocumentNeed(
                    document=d.document,
                    clause=d.clause,
                    source=in_force.cite(d).source,
                    more_than_days=d.more_than_days,
                    waives_min_service=d.waives_min_service,
                )
                for d in (rule.documents if rule is not None else ())
            )
            kinds.append(KindOption(kind, KIND_LABELS[kind], leave, needs_location=False, documents=documents))
    # A trip abroad needs permission on any day, weekends and holidays included; it shares the leave's span
    # picker (the evaluator refuses days already past).
    travel = RequestKind.IZIN_LUAR_NEGERI
    refusal = verdict(travel, probe_day).refusal
    if refusal is None or refusal.code not in NOT_FOR_YOU:
        kinds.append(KindOption(travel, KIND_LABELS[travel], leave, needs_location=True, needs_purpose=True))
    return FormOptions(kinds=tuple(kinds), timezone=zone, today=today)
