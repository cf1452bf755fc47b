"""The policy-pack schema: a region's flexible-work and leave rules as data, every rule with its legal basis.

A pack is written in YAML by the pemda's BKPSDM and loaded by `policy.packs`. A new circular is a new pack
version, never a code change, so everything the evaluator decides must be expressible here.

Every rule names its legal basis by id (`basis`) and says what the clause says (`clause`, in Bahasa
Indonesia); `PolicyPack.citation(rule_id)` turns that into the `Citation` that routes and refusals carry.
`note` is free text for the pack author's modelling remarks and is never shown as law.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from contracts.common import (
    Citation,
    EmployeeType,
    Frozen,
    LongText,
    OpdClass,
    RequestKind,
    ShortText,
    Tier,
    TravelPurpose,
)
from contracts.zones import OFFSET_HOURS

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)]
PackId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]
PackVersion = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+){1,3}$", max_length=30)]
RefusalCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]

FLEXIBLE_KINDS = frozenset({RequestKind.WFH, RequestKind.WFA})
LEAVE_KINDS = frozenset(k for k in RequestKind if k.is_leave)
ALL_EMPLOYEE_TYPES = frozenset(EmployeeType)
ALL_OPD_CLASSES = frozenset(OpdClass)


def _as_tuple(value: Any) -> Any:
    # `basis: se` and `basis: [se, b531]` both read naturally in YAML.
    return (value,) if isinstance(value, str) else value


def _valid_zone(name: str) -> str:
    # Indonesian zones have fixed offsets, so no tz database is needed (the workflow sandbox has none).
    if name not in OFFSET_HOURS:
        known = ", ".join(sorted(OFFSET_HOURS))
        raise ValueError(f"zona waktu harus salah satu zona Indonesia ({known}), bukan {name!r}")
    return name


BasisRefs = Annotated[tuple[RuleId, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
ZoneName = Annotated[str, AfterValidator(_valid_zone)]


class LegalBasis(Frozen):
    """One legal instrument the pack relies on (a circular, a regulation, a minister's letter)."""

    id: RuleId
    instrument: ShortText = Field(description="how citations name it, e.g. 'SE Wali Kota Kendari No. …'")
    number: ShortText | None = None
    title: LongText | None = None
    issued_on: date | None = Field(default=None, description="date of signing, when the source gives it")
    signatory: ShortText | None = Field(default=None, description="who signed it, when the source says")
    note: LongText | None = None


class Rule(Frozen):
    """What every rule carries: an id unique within the pack, its legal basis and what the clause says."""

    id: RuleId
    basis: BasisRefs
    clause: LongText
    note: LongText | None = None


class DateRange(Frozen):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("end harus sama dengan atau setelah start")
        return self


class Window(Rule):
    """Days on which the region's circular governs flexible work (instead of the national baseline)."""

    dates: tuple[date, ...] = ()
    ranges: tuple[DateRange, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if not self.dates and not self.ranges:
            raise ValueError("jendela harus memuat dates atau ranges")
        return self

    def all_dates(self) -> Iterator[date]:
        yield from self.dates
        for span in self.ranges:
            for offset in range((span.end - span.start).days + 1):
                yield span.start + timedelta(days=offset)


class Applicability(Frozen):
    """A filter over requests; a missing field matches everything."""

    kinds: frozenset[RequestKind] | None = None
    employee_types: frozenset[EmployeeType] | None = None
    opd_classes: frozenset[OpdClass] | None = None
    abroad: bool | None = Field(default=None, description="location.country != 'ID'")
    in_window: bool | None = Field(default=None, description="at least one date inside the pack's windows")
    travel_purpose: TravelPurpose | None = Field(default=None, description="IZIN_LUAR_NEGERI: dinas or pribadi")


class Allowance(Rule):
    """Who may ask for which flexible-work kind on window days (or, in the baseline, on any day)."""

    kinds: frozenset[RequestKind] = Field(min_length=1)
    employee_types: frozenset[EmployeeType] = ALL_EMPLOYEE_TYPES
    opd_classes: frozenset[OpdClass] = ALL_OPD_CLASSES

    @model_validator(mode="after")
    def _flexible_only(self) -> Allowance:
        if not self.kinds <= FLEXIBLE_KINDS:
            raise ValueError("allow hanya untuk WFH/WFA; jenis cuti diatur di bagian leave")
        return self


class Restriction(Rule):
    """An explicit prohibition, checked before any allowance; refuses with its own code and message."""

    when: Applicability
    code: RefusalCode
    message: LongText


class LocationRule(Rule):
    kinds: frozenset[RequestKind] = frozenset({RequestKind.WFA})


class UnitCapRule(Rule):
    """At most floor(unit_size * max_away_ratio) of a unit away on these kinds per day."""

    kinds: frozenset[RequestKind] = FLEXIBLE_KINDS
    opd_classes: frozenset[OpdClass] = ALL_OPD_CLASSES
    max_away_ratio: float = Field(gt=0, le=1)

    def cap_for(self, unit_size: int) -> int:
        # floor: half of a 5-person unit is 2 away, never 3 (the circular asks for 50:50 at most).
        return math.floor(unit_size * self.max_away_ratio + 1e-9)


class WeeklyLimitRule(Rule):
    """Flexible location on at most `max_days_per_week` working days per ISO week (PermenPANRB 4/2025)."""

    kinds: frozenset[RequestKind] = FLEXIBLE_KINDS
    max_days_per_week: int = Field(ge=0, le=7)


class FlexibleWork(Frozen):
    allow: tuple[Allowance, ...] = ()
    restrict: tuple[Restriction, ...] = ()
    location: LocationRule | None = None
    unit_caps: tuple[UnitCapRule, ...] = ()
    weekly_limit: WeeklyLimitRule | None = None


PYBMC = "PYBMC"
StepTier = Tier | Literal["PYBMC"]
TIER_ORDER: tuple[Tier, ...] = (Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK)


class BindingConsideration(Rule):
    """Why a leave step's consideration (pertimbangan) binds: a refusal there ends the request."""


class StepSpec(Frozen):
    """`tier: PYBMC` stands for the official the leave section names as PYBMC for the request's kind.

    Before the PYBMC a leave step gives a consideration that is advisory unless `binding` cites why it binds.
    """

    tier: StepTier
    action: Literal["recommend", "approve"] = "approve"
    binding: BindingConsideration | None = None

    @model_validator(mode="after")
    def _binding_is_a_consideration(self) -> StepSpec:
        if self.binding is not None and self.action != "recommend":
            raise ValueError("binding hanya untuk langkah pertimbangan (action: recommend)")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_binding(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A step written without `binding` reads back as written (pack diffs and reports stay as they were).
        data: dict[str, Any] = handler(self)
        if data.get("binding") is None:
            data.pop("binding", None)
        return data


class RouteRule(Rule):
    """The base route for a set of kinds; the first rule whose kinds include the request's kind applies."""

    kinds: frozenset[RequestKind] = Field(min_length=1)
    steps: tuple[StepSpec, ...] = Field(min_length=1)


class ExtraStepRule(Rule):
    """An extra tier added when the request matches `when` (e.g. abroad → PPK)."""

    when: Applicability
    add: StepSpec


class NamedApprover(Rule):
    """Who decides a PPK's own request (outside the directory, e.g. the governor)."""

    nip: Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$")]
    name: ShortText


class Routing(Frozen):
    base: tuple[RouteRule, ...] = Field(min_length=1)
    extra: tuple[ExtraStepRule, ...] = ()
    upward: Rule = Field(description="heads' own requests and missing tiers go one tier up")
    ppk_own_request: NamedApprover | None = None


class DocumentRule(Rule):
    """A supporting document a leave kind needs (a doctor's certificate for sick leave of more than a day, …).

    Required when the request is longer than `more_than_days` (counted as the kind counts). With
    `waives_min_service` it is required only where the service is shorter than the kind asks, and then stands
    in for it (cuti besar for a first hajj before five years of service).
    """

    document: ShortText = Field(description="what to attach, as the form names it: 'surat keterangan dokter'")
    more_than_days: int = Field(default=0, ge=0)
    waives_min_service: bool = False


class LeaveKindRule(Rule):
    kind: RequestKind
    employee_types: frozenset[EmployeeType] = ALL_EMPLOYEE_TYPES
    counting: Literal["working_days", "calendar_days"] = "working_days"
    max_days: int | None = Field(default=None, ge=1)
    min_service_years: int = Field(default=0, ge=0)
    gender: Literal["L", "P"] | None = None
    pybmc: Tier = Tier.PPK
    documents: tuple[DocumentRule, ...] = ()
    external_approval: ShortText | None = Field(
        default=None,
        description="authority whose consideration must be recorded before the PYBMC may grant it ('BKN')",
    )

    @model_validator(mode="after")
    def _leave_only(self) -> LeaveKindRule:
        if not self.kind.is_leave:
            raise ValueError("leave.kinds hanya untuk jenis cuti")
        return self


class RemotePlaceRule(Rule):
    """Annual leave spent in a place hard to reach (tempat yang sulit perhubungannya) may be extended by at most
    `max_days` calendar days of travel, following the last leave day and not taken from the annual-leave right."""

    max_days: int = Field(default=12, ge=1, le=31)


class AnnualLeaveRule(Rule):
    """Annual-leave arithmetic (PP 11/2017): entitlement, carry-over caps, cuti bersama taken from it."""

    entitlement_days: int = Field(default=12, ge=0)
    carry_over_max_days: int = Field(default=6, ge=0)
    carry_over_total_max: int = Field(default=18, ge=0)
    two_year_total_max: int = Field(default=24, ge=0)
    carry_over_employee_types: frozenset[EmployeeType] = frozenset({EmployeeType.PNS})
    cuti_bersama_deducted: bool = True
    # Years whose Keppres on ASN cuti bersama says it does not reduce annual leave (2025: Keppres 2/2025).
    # A later year's decree is a new pack version that adds its year, never a code change.
    cuti_bersama_exempt_years: frozenset[int] = frozenset()
    remote_place_extra_days: RemotePlaceRule | None = Field(
        default=None, description="absent: the pack does not allow extra travel days for a place hard to reach"
    )

    @model_validator(mode="after")
    def _caps_consistent(self) -> AnnualLeaveRule:
        if not self.entitlement_days <= self.carry_over_total_max <= self.two_year_total_max:
            raise ValueError("harus entitlement_days <= carry_over_total_max <= two_year_total_max")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_remote_place(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A pack written without the rule reads back as written (pack diffs and reports stay as they were).
        data: dict[str, Any] = handler(self)
        if data.get("remote_place_extra_days") is None:
            data.pop("remote_place_extra_days", None)
        return data

    def deducts_cuti_bersama(self, year: int) -> bool:
        return self.cuti_bersama_deducted and year not in self.cuti_bersama_exempt_years


class Leave(Frozen):
    kinds: tuple[LeaveKindRule, ...] = Field(min_length=1)
    annual: AnnualLeaveRule


class DutyWindowSpec(Frozen):
    label: ShortText
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> DutyWindowSpec:
        if self.end <= self.start:
            raise ValueError("end harus setelah start")
        return self


class ObligationRule(Rule):
    """A duty on approved days of the given kinds (check-ins, reports, e-presensi)."""

    duty: Literal["location_checkin", "activity_report", "performance_report", "e_presensi"]
    kinds: frozenset[RequestKind] = FLEXIBLE_KINDS
    cadence: Literal["daily", "once_after_last_day"] = "daily"
    windows: tuple[DutyWindowSpec, ...] = ()
    deadline: time | None = None
    report_to: Tier = Tier.UNIT_HEAD
    location_precision_decimals: int | None = Field(default=None, ge=0, le=6)
    retention_days: int | None = Field(default=None, ge=1)


class NoticeRule(Rule):
    """A clause that shapes an approval without refusing: shown with the route (e.g. 'not a right')."""

    when: Applicability = Applicability()


class PiketRule(Rule):
    """Days on which OPDs of the named classes keep an office duty roster set by the unit head.

    A rule for every class (the default) also marks its days as ones that flexible work and leave cannot be
    asked for; a rule for some classes only (Bitung's vital OPDs over Nataru) lets their heads roster people
    on any of its days, working days included.
    """

    dates: tuple[date, ...] = ()
    ranges: tuple[DateRange, ...] = ()
    opd_classes: frozenset[OpdClass] = ALL_OPD_CLASSES
    attendance_windows: tuple[DutyWindowSpec, ...] = Field(
        default=(), description="when those on the piket roster must record their presence"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> PiketRule:
        if not self.dates and not self.ranges:
            raise ValueError("piket harus memuat dates atau ranges")
        return self

    def all_dates(self) -> Iterator[date]:
        yield from self.dates
        for span in self.ranges:
            for offset in range((span.end - span.start).days + 1):
                yield span.start + timedelta(days=offset)


class StaffingMinimum(Rule):
    """The on-site share a dashboard should expect per OPD class (advisory unless a unit cap enforces it)."""

    opd_class: OpdClass
    min_on_site_ratio: float | None = Field(default=None, ge=0, le=1)
    min_on_site_headcount: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> StaffingMinimum:
        if self.min_on_site_ratio is None and self.min_on_site_headcount is None:
            raise ValueError("isi min_on_site_ratio dan/atau min_on_site_headcount")
        return self


class TimerRule(Rule):
    """Approval timers; durations as ISO-8601 (`PT8H`, `P1D`) or seconds."""

    remind_after: timedelta
    escalate_after: timedelta
    escalate_to: Literal["acting_official", "next_tier"] = "next_tier"

    @model_validator(mode="after")
    def _ordered(self) -> TimerRule:
        if self.remind_after <= timedelta(0) or self.escalate_after <= self.remind_after:
            raise ValueError("harus 0 < remind_after < escalate_after")
        return self


class ResubmitRule(Rule):
    resubmit_from: Literal["first_tier", "returning_tier"] = "first_tier"


class GeneralRules(Frozen):
    """Citations for the checks every pack performs the same way."""

    working_days: Rule = Field(description="weekends, public holidays and cuti bersama are not working days")
    past_date: Rule
    one_arrangement_per_day: Rule = Field(description="a day already approved cannot be approved twice")
    single_policy: Rule = Field(description="one request is judged by one pack; a request spanning windows is split")


class PolicyPack(Frozen):
    id: PackId
    version: PackVersion
    scope: Literal["regional", "national"] = "regional"
    region: PackId | None = Field(default=None, description="directory region code; null for the national pack")
    name: ShortText
    timezone: ZoneName
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    windows: tuple[Window, ...] = ()
    flexible: FlexibleWork = FlexibleWork()
    routing: Routing
    leave: Leave
    obligations: tuple[ObligationRule, ...] = ()
    notices: tuple[NoticeRule, ...] = ()
    piket: tuple[PiketRule, ...] = ()
    staffing_minimums: tuple[StaffingMinimum, ...] = ()
    timers: TimerRule
    resubmit: ResubmitRule
    general: GeneralRules

    @model_validator(mode="after")
    def _coherent(self, info: ValidationInfo) -> PolicyPack:
        # The loader checks these itself to report a line per problem; direct construction still refuses.
        if info.context and info.context.get("defer_coherence"):
            return self
        problems = pack_problems(self)
        if problems:
            path, reason = problems[0]
            raise ValueError(f"{'.'.join(str(p) for p in path)}: {reason}")
        return self

    def rules(self) -> Iterator[tuple[tuple[str | int, ...], Rule]]:
        """Every rule with its path in the document (for citations, line numbers and reports)."""
        for i, w in enumerate(self.windows):
            yield ("windows", i), w
        for i, a in enumerate(self.flexible.allow):
            yield ("flexible", "allow", i), a
        for i, r in enumerate(self.flexible.restrict):
            yield ("flexible", "restrict", i), r
        if self.flexible.location is not None:
            yield ("flexible", "location"), self.flexible.location
        for i, c in enumerate(self.flexible.unit_caps):
            yield ("flexible", "unit_caps", i), c
        if self.flexible.weekly_limit is not None:
            yield ("flexible", "weekly_limit"), self.flexible.weekly_limit
        for i, b in enumerate(self.routing.base):
            yield ("routing", "base", i), b
            for j, step in enumerate(b.steps):
                if step.binding is not None:
                    yield ("routing", "base", i, "steps", j, "binding"), step.binding
        for i, e in enumerate(self.routing.extra):
            yield ("routing", "extra", i), e
            if e.add.binding is not None:
                yield ("routing", "extra", i, "add", "binding"), e.add.binding
        yield ("routing", "upward"), self.routing.upward
        if self.routing.ppk_own_request is not None:
            yield ("routing", "ppk_own_request"), self.routing.ppk_own_request
        for i, k in enumerate(self.leave.kinds):
            yield ("leave", "kinds", i), k
            for j, d in enumerate(k.documents):
                yield ("leave", "kinds", i, "documents", j), d
        yield ("leave", "annual"), self.leave.annual
        if self.leave.annual.remote_place_extra_days is not None:
            yield ("leave", "annual", "remote_place_extra_days"), self.leave.annual.remote_place_extra_days
        for i, o in enumerate(self.obligations):
            yield ("obligations", i), o
        for i, n in enumerate(self.notices):
            yield ("notices", i), n
        for i, p in enumerate(self.piket):
            yield ("piket", i), p
        for i, s in enumerate(self.staffing_minimums):
            yield ("staffing_minimums", i), s
        yield ("timers",), self.timers
        yield ("resubmit",), self.resubmit
        for name in ("working_days", "past_date", "one_arrangement_per_day", "single_policy"):
            yield ("general", name), getattr(self.general, name)

    def source_of(self, rule: Rule) -> str:
        instruments = {b.id: b.instrument for b in self.legal_basis}
        return "; ".join(instruments[ref] for ref in rule.basis)

    def citation(self, rule: Rule) -> Citation:
        return Citation(
            pack_id=self.id,
            pack_version=self.version,
            rule_id=rule.id,
            source=self.source_of(rule),
            clause=rule.clause,
        )


def pack_problems(pack: PolicyPack) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references a schema alone cannot check, each with the path of the offending value."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if pack.scope == "regional" and pack.region is None:
        problems.append((("region",), "paket regional wajib menyebut region"))
    if pack.scope == "national" and pack.windows:
        problems.append((("windows",), "paket nasional tidak memiliki jendela; berlaku di luar jendela daerah"))

    basis_ids: set[str] = set()
    for i, basis in enumerate(pack.legal_basis):
        if basis.id in basis_ids:
            problems.append((("legal_basis", i, "id"), f"id dasar hukum ganda: {basis.id}"))
        basis_ids.add(basis.id)

    seen: dict[str, tuple[str | int, ...]] = {}
    for path, rule in pack.rules():
        if rule.id in seen:
            where = ".".join(str(p) for p in seen[rule.id])
            problems.append(((*path, "id"), f"id aturan ganda: {rule.id} (sudah dipakai di {where})"))
        seen.setdefault(rule.id, path)
        for j, ref in enumerate(rule.basis):
            if ref not in basis_ids:
                problems.append(((*path, "basis", j), f"dasar hukum tidak dikenal: {ref}"))

    covered: set[RequestKind] = set()
    for i, route in enumerate(pack.routing.base):
        overlap = covered & route.kinds
        if overlap:
            names = ", ".join(sorted(overlap))
            problems.append((("routing", "base", i, "kinds"), f"jenis sudah diatur rute sebelumnya: {names}"))
        covered |= route.kinds
        for j, step in enumerate(route.steps):
            if step.tier == PYBMC and not route.kinds <= LEAVE_KINDS:
                problems.append((("routing", "base", i, "steps", j, "tier"), "PYBMC hanya untuk rute cuti"))
        if route.steps[-1].action != "approve":
            problems.append((("routing", "base", i, "steps"), "langkah terakhir harus approve"))
    offered = {k for a in pack.flexible.allow for k in a.kinds} | {k.kind for k in pack.leave.kinds}
    for kind in sorted(offered - covered):
        problems.append((("routing", "base"), f"tidak ada rute untuk jenis {kind}"))

    leave_seen: set[RequestKind] = set()
    for i, leave in enumerate(pack.leave.kinds):
        if leave.kind in leave_seen:
            problems.append((("leave", "kinds", i, "kind"), f"jenis cuti ganda: {leave.kind}"))
        leave_seen.add(leave.kind)
    return problems
