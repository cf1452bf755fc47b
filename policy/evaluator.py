"""The pure policy evaluator: requester + request + directory + usage + pack → route, constraints, duties,
or a refusal that cites its clause.

No I/O and no clock: the caller passes `today` (a date already local to the region, or an aware datetime
that is converted to the region's zone here). The same inputs always give the same Evaluation, which is
what lets the simulator replay history under a draft pack and a resubmission be judged by its first pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from weakref import WeakKeyDictionary

from contracts.common import Citation, EmployeeType, PolicyRef, RequestKind, Role, Tier
from contracts.directory import Person
from contracts.evaluation import (
    ApprovalTimers,
    DutyWindow,
    Evaluation,
    LeaveDebit,
    Obligation,
    Refusal,
    RequestDraft,
    RouteStep,
    UnitDailyCap,
    UsageSnapshot,
)
from contracts.policy_pack import (
    ALL_OPD_CLASSES,
    PYBMC,
    TIER_ORDER,
    Allowance,
    Applicability,
    BindingConsideration,
    LeaveKindRule,
    NoticeRule,
    PiketRule,
    PolicyPack,
    Rule,
    StaffingMinimum,
    StepSpec,
    UnitCapRule,
)
from contracts.zones import zone_label
from policy.calendar import format_tanggal, is_working_day, local_date, non_working_reason
from policy.directory import DirectoryIndex, PostHolder
from policy.leave import annual_leave_balance, gender_from_nip, service_years, tmt_from_nip
from policy.packs import LoadedPack, PackSet, select_pack
from policy.service import years_of_service

KIND_LABEL = {
    RequestKind.WFH: "WFH (bekerja dari rumah)",
    RequestKind.WFA: "WFA (bekerja dari lokasi lain)",
    RequestKind.CUTI_TAHUNAN: "cuti tahunan",
    RequestKind.CUTI_SAKIT: "cuti sakit",
    RequestKind.CUTI_ALASAN_PENTING: "cuti karena alasan penting",
    RequestKind.CUTI_BESAR: "cuti besar",
    RequestKind.CUTI_MELAHIRKAN: "cuti melahirkan",
    RequestKind.IZIN_LUAR_NEGERI: "izin ke luar negeri",
    RequestKind.CLTN: "cuti di luar tanggungan negara",
}
EMPLOYEE_LABEL = {
    EmployeeType.PNS: "PNS",
    EmployeeType.PPPK: "PPPK",
    EmployeeType.PPPK_PW: "PPPK paruh waktu",
}
OPD_CLASS_LABEL = {"vital": "layanan vital", "direct_service": "pelayanan langsung", "support": "penunjang"}
TIER_LABEL = {
    Tier.UNIT_HEAD: "pimpinan unit kerja",
    Tier.OPD_HEAD: "kepala perangkat daerah",
    Tier.PPK: "PPK",
}
RANK = {tier: i for i, tier in enumerate(TIER_ORDER)}


class _Refused(Exception):
    """Internal short-circuit: the first rule that refuses ends the evaluation."""

    def __init__(self, code: str, message: str, citations: Sequence[Citation]) -> None:
        super().__init__(code)
        self.refusal = Refusal(code=code, message=message, citations=tuple(_unique(citations)))


# --- public API -------------------------------------------------------------------------------------------


def evaluate(
    *,
    packs: PackSet,
    requester: Person,
    draft: RequestDraft,
    directory: DirectoryIndex,
    usage: UsageSnapshot,
    today: date | datetime,
    pinned: PolicyRef | None = None,
) -> Evaluation:
    """Judge a request under the packs in force for the requester's region.

    `today` is the region's local date, or better the current instant (an aware datetime), which is
    read in the region's zone here. `pinned` is the PolicyRef a resubmitted request was first judged
    by: it is judged by that exact pack again (LookupError if that text is not loaded).
    """
    regional = packs.for_region(requester.region)
    if pinned is not None:
        loaded = packs.resolve(pinned)
        if loaded is None:
            raise LookupError(f"paket {pinned.id} {pinned.version} ({pinned.sha256[:12]}…) tidak dimuat")
        return evaluate_under(
            loaded,
            requester=requester,
            draft=draft,
            directory=directory,
            usage=usage,
            today=today,
            regional=regional if loaded.is_baseline else None,
        )
    return evaluate_with(
        regional=regional,
        baseline=packs.baseline,
        requester=requester,
        draft=draft,
        directory=directory,
        usage=usage,
        today=today,
    )


def evaluate_with(
    *,
    regional: LoadedPack | None,
    baseline: LoadedPack,
    requester: Person,
    draft: RequestDraft,
    directory: DirectoryIndex,
    usage: UsageSnapshot,
    today: date | datetime,
) -> Evaluation:
    """Judge under explicit packs (e.g. a draft regional pack in the simulator); picks which one applies."""
    dates = _normalised(draft.dates)
    timezone = regional.pack.timezone if regional is not None else baseline.pack.timezone
    chosen = select_pack(regional, baseline, draft.kind, dates)
    if chosen is None:
        assert regional is not None
        return _span_refusal(regional, baseline, dates, timezone)
    return _judge(
        chosen,
        regional=regional,
        requester=requester,
        draft=draft,
        dates=dates,
        directory=directory,
        usage=usage,
        today=local_date(today, timezone),
        timezone=timezone,
    )


def evaluate_under(
    pack: LoadedPack,
    *,
    requester: Person,
    draft: RequestDraft,
    directory: DirectoryIndex,
    usage: UsageSnapshot,
    today: date | datetime,
    regional: LoadedPack | None = None,
) -> Evaluation:
    """Judge strictly by `pack` (a resubmission is judged by the pack its request was first judged by).

    `regional` is the requester's region pack when `pack` is the baseline: it supplies the time zone and
    the window days the baseline's weekly limit leaves out. A flexible date outside a regional `pack`'s
    windows is refused (`outside_window`): the request must then be submitted anew.
    """
    context_pack = pack if not pack.is_baseline else regional
    timezone = context_pack.pack.timezone if context_pack is not None else pack.pack.timezone
    return _judge(
        pack,
        regional=context_pack,
        requester=requester,
        draft=draft,
        dates=_normalised(draft.dates),
        directory=directory,
        usage=usage,
        today=local_date(today, timezone),
        timezone=timezone,
    )


def route_for(
    loaded: LoadedPack,
    requester: Person,
    kind: RequestKind,
    directory: DirectoryIndex,
    *,
    abroad: bool = False,
    in_window: bool = False,
) -> tuple[RouteStep, ...]:
    """The approval route with resolved approvers; raises nothing, returns () when no one can decide."""
    try:
        return _route(loaded, requester, kind, directory, abroad=abroad, in_window=in_window)
    except _Refused:
        return ()


def unit_cap_for(loaded: LoadedPack, requester: Person, kind: RequestKind) -> UnitCapRule | None:
    """The daily unit cap that binds this requester's kind, if the pack has one."""
    for cap in loaded.pack.flexible.unit_caps:
        if kind in cap.kinds and requester.opd_class in cap.opd_classes:
            return cap
    return None


def staffing_minimum_for(loaded: LoadedPack, opd_class: str) -> StaffingMinimum | None:
    """The dashboard's expected on-site share for an OPD class."""
    return next((s for s in loaded.pack.staffing_minimums if s.opd_class == opd_class), None)


def piket_days(loaded: LoadedPack, opd_class: str | None = None) -> dict[date, PiketRule]:
    """Days with an office duty roster for an OPD class (Bitung: every OPD on 26–27 Dec 2025, vital OPDs on
    every day of 24 Dec 2025 – 2 Jan 2026); without a class, the days every OPD keeps one.

    Where two rules give the same day, the first in the pack is the one cited.
    """
    days: dict[date, PiketRule] = {}
    for rule in loaded.pack.piket:
        applies = rule.opd_classes == ALL_OPD_CLASSES if opd_class is None else opd_class in rule.opd_classes
        if applies:
            for day in rule.all_dates():
                days.setdefault(day, rule)
    return days


def trip_leave_notice(
    loaded: LoadedPack, kind: RequestKind, travel_purpose: str | None, dates: Iterable[date]
) -> tuple[NoticeRule, list[date]] | None:
    """A personal trip abroad over working days needs leave for them: the pack's clause and those days."""
    if not kind.is_travel_abroad or travel_purpose != "pribadi":
        return None
    working = sorted(d for d in set(dates) if is_working_day(d))
    rule = next(
        (
            n
            for n in loaded.pack.notices
            if n.when.travel_purpose == "pribadi" and (n.when.kinds is None or kind in n.when.kinds)
        ),
        None,
    )
    if not working or rule is None:
        return None
    return rule, working


def window_days(loaded: LoadedPack) -> frozenset[date]:
    return loaded.window_dates


# --- judging ----------------------------------------------------------------------------------------------


def _judge(
    loaded: LoadedPack,
    *,
    regional: LoadedPack | None,
    requester: Person,
    draft: RequestDraft,
    dates: list[date],
    directory: DirectoryIndex,
    usage: UsageSnapshot,
    today: date,
    timezone: str,
) -> Evaluation:
    pack = loaded.pack
    kind = draft.kind
    abroad = draft.location is not None and draft.location.abroad
    in_window = any(d in loaded.window_dates for d in dates)
    shaped: list[Citation] = []
    counted = [d for d in dates if is_working_day(d)]
    try:
        _check_dates(loaded, kind, dates, today, timezone)
        if kind.is_flexible_work and not loaded.is_baseline:
            outside = [d for d in dates if d not in loaded.window_dates]
            if outside:
                raise _Refused(
                    "outside_window",
                    f"{format_tanggal(outside[0])} berada di luar masa kerja fleksibel yang ditetapkan "
                    f"{_instrument(loaded)}; ajukan permohonan baru untuk tanggal tersebut.",
                    [loaded.cite(w) for w in pack.windows],
                )
        # A trip abroad is not a working arrangement: a personal one is covered by leave on the same days.
        already = [] if kind.is_travel_abroad else [d for d in dates if d in usage.own_approved_dates]
        if already:
            day = already[0]
            raise _Refused(
                "already_approved_on_date",
                f"Anda sudah memiliki {KIND_LABEL[usage.own_approved_dates[day]]} yang disetujui pada "
                f"{format_tanggal(day)}; satu hari kerja hanya untuk satu pengaturan.",
                [loaded.cite(pack.general.one_arrangement_per_day)],
            )
        shaped += [loaded.cite(w) for w, days in loaded.windows if any(d in days for d in dates)]

        extension = _remote_place_extension(loaded, kind, draft.extra_days)
        if extension is not None:
            shaped.append(extension)
        caps: tuple[UnitDailyCap, ...] = ()
        debit: LeaveDebit | None = None
        if kind.is_flexible_work:
            shaped.append(loaded.cite(_flexible_allowance(loaded, requester, kind, abroad, in_window)))
            _check_location(loaded, draft)
            weekly = _check_weekly_limit(loaded, regional, kind, dates, usage)
            if weekly is not None:
                shaped.append(weekly)
            caps = _unit_caps(loaded, requester, kind, dates, directory, usage)
            shaped += [c.citation for c in caps]
        elif kind.is_travel_abroad:
            shaped.append(_check_travel(loaded, draft))
        else:
            leave_rule, waived_by = _leave_rule(loaded, requester, kind, dates, counted, attachments=draft.attachments)
            shaped.append(loaded.cite(leave_rule))
            shaped += waived_by
            shaped += _documents(loaded, leave_rule, dates, counted, draft.attachments)
            if kind == RequestKind.CUTI_TAHUNAN:
                debit = _annual_leave_debit(loaded, requester, counted, usage)
                shaped.append(debit.citation)
                if draft.extra_days:
                    debit = debit.model_copy(update={"extra_days": draft.extra_days})

        purpose = draft.travel_purpose
        shaped += [
            loaded.cite(n) for n in pack.notices if _matches(n.when, requester, kind, abroad, in_window, purpose)
        ]
        route = _route(loaded, requester, kind, directory, abroad=abroad, in_window=in_window, on_cltn=usage.on_cltn)
    except _Refused as refused:
        return Evaluation(
            policy=loaded.ref,
            timezone=timezone,
            outcome="refused",
            refusal=refused.refusal,
            working_days=len(counted),
            citations=tuple(_unique([*shaped, *refused.refusal.citations])),
        )

    shaped += [step.citation for step in route]
    obligations = _obligations(loaded, kind)
    shaped += [o.citation for o in obligations]
    shaped += [loaded.cite(pack.timers), loaded.cite(pack.resubmit)]
    return Evaluation(
        policy=loaded.ref,
        timezone=timezone,
        outcome="allowed",
        route=route,
        caps=caps,
        leave_debit=debit,
        obligations=obligations,
        timers=ApprovalTimers(
            remind_after=pack.timers.remind_after,
            escalate_after=pack.timers.escalate_after,
            escalate_to=pack.timers.escalate_to,
        ),
        resubmit_from=pack.resubmit.resubmit_from,
        working_days=len(counted),
        citations=tuple(_unique(shaped)),
    )


def _span_refusal(regional: LoadedPack, baseline: LoadedPack, dates: list[date], timezone: str) -> Evaluation:
    inside = [format_tanggal(d) for d in dates if d in regional.window_dates]
    outside = [format_tanggal(d) for d in dates if d not in regional.window_dates]
    message = (
        f"Tanggal yang diajukan mencakup hari di dalam masa kerja fleksibel {_instrument(regional)} "
        f"({'; '.join(inside)}) dan di luarnya ({'; '.join(outside)}), yang diatur PermenPANRB 4/2025. "
        "Pisahkan menjadi dua permohonan: satu untuk tanggal di dalam masa tersebut dan satu untuk sisanya."
    )
    citations = [
        regional.cite(regional.pack.general.single_policy),
        *[regional.cite(w) for w in regional.pack.windows],
    ]
    citations.append(baseline.cite(baseline.pack.general.single_policy))
    refusal = Refusal(code="dates_span_policies", message=message, citations=tuple(_unique(citations)))
    return Evaluation(
        policy=regional.ref,
        timezone=timezone,
        outcome="refused",
        refusal=refusal,
        working_days=sum(1 for d in dates if is_working_day(d)),
        citations=refusal.citations,
    )


def _check_dates(loaded: LoadedPack, kind: RequestKind, dates: list[date], today: date, timezone: str) -> None:
    pack = loaded.pack
    past = [d for d in dates if d < today]
    if past:
        raise _Refused(
            "past_date",
            f"{format_tanggal(past[0])} sudah lewat (hari ini {format_tanggal(today)} "
            f"{zone_label(timezone)}); permohonan hanya untuk hari ini atau sesudahnya.",
            [loaded.cite(pack.general.past_date)],
        )
    if _counts_calendar_days(pack, kind):
        return
    for day in dates:
        reason = non_working_reason(day)
        if reason is None:
            continue
        message = f"{reason}, bukan hari kerja. Ajukan hanya hari kerja."
        citations = [loaded.cite(pack.general.working_days)]
        piket = piket_days(loaded).get(day)
        if piket is not None:
            # the roster day is not a leave or WFH day: staff on it come to the office
            message += f" Pada hari itu perangkat daerah melaksanakan piket kantor ({_instrument(loaded)})."
            citations.append(loaded.cite(piket))
        raise _Refused("non_working_day", message, citations)


def _counts_calendar_days(pack: PolicyPack, kind: RequestKind) -> bool:
    # Long leave (sick, long-service, maternity) and a trip abroad run over weekends;
    # WFH/WFA and annual leave count working days only.
    if kind.is_travel_abroad:
        return True
    rule = next((k for k in pack.leave.kinds if k.kind == kind), None)
    return rule is not None and rule.counting == "calendar_days"


def _flexible_allowance(
    loaded: LoadedPack, requester: Person, kind: RequestKind, abroad: bool, in_window: bool
) -> Allowance:
    pack = loaded.pack
    for restriction in pack.flexible.restrict:
        if _matches(restriction.when, requester, kind, abroad, in_window):
            raise _Refused(restriction.code, restriction.message, [loaded.cite(restriction)])
    for_kind = [a for a in pack.flexible.allow if kind in a.kinds]
    if not for_kind:
        offered = sorted({k for a in pack.flexible.allow for k in a.kinds})
        what = " dan ".join(KIND_LABEL[k] for k in offered) if offered else "tidak ada kerja fleksibel"
        raise _Refused(
            "kind_not_allowed",
            f"{KIND_LABEL[kind]} tidak diatur dalam {_instrument(loaded)}; yang diatur: {what}.",
            [loaded.cite(a) for a in pack.flexible.allow] or [loaded.cite(w) for w in pack.windows],
        )
    for_type = [a for a in for_kind if requester.employee_type in a.employee_types]
    if not for_type:
        raise _Refused(
            "employee_type_not_allowed",
            f"{KIND_LABEL[kind]} menurut {_instrument(loaded)} tidak berlaku bagi "
            f"{EMPLOYEE_LABEL[requester.employee_type]}.",
            [loaded.cite(a) for a in for_kind],
        )
    for_class = [a for a in for_type if requester.opd_class in a.opd_classes]
    if not for_class:
        raise _Refused(
            "opd_class_not_allowed",
            f"{KIND_LABEL[kind]} menurut {_instrument(loaded)} tidak berlaku bagi perangkat daerah "
            f"{OPD_CLASS_LABEL[requester.opd_class]} ({requester.opd_name}).",
            [loaded.cite(a) for a in for_type],
        )
    return for_class[0]


def _check_location(loaded: LoadedPack, draft: RequestDraft) -> None:
    rule = loaded.pack.flexible.location
    if rule is not None and draft.kind in rule.kinds and draft.location is None:
        raise _Refused(
            "location_required",
            f"{KIND_LABEL[draft.kind]} wajib menyebut lokasi kerja (alamat dan kode negara ISO-2, mis. ID).",
            [loaded.cite(rule)],
        )


def travel_route_rule(loaded: LoadedPack) -> Rule | None:
    """The pack's route for permission to travel abroad; a pack without one leaves it to the baseline."""
    return next((r for r in loaded.pack.routing.base if RequestKind.IZIN_LUAR_NEGERI in r.kinds), None)


def _check_travel(loaded: LoadedPack, draft: RequestDraft) -> Citation:
    """Every day abroad is listed (weekends and holidays too); the destination and the purpose are named."""
    rule = travel_route_rule(loaded)
    if rule is None:
        raise _Refused(
            "kind_not_allowed",
            f"{KIND_LABEL[draft.kind].capitalize()} tidak diatur dalam paket {loaded.pack.id}.",
            [loaded.cite(loaded.pack.routing.upward)],
        )
    citation = loaded.cite(rule)
    if draft.location is None:
        raise _Refused(
            "location_required",
            "Izin ke luar negeri wajib menyebut tujuan (tempat dan kode negara ISO-2, mis. MY).",
            [citation],
        )
    if not draft.location.abroad:
        raise _Refused(
            "destination_not_abroad",
            "Tujuan berada di Indonesia (kode negara ID); izin ke luar negeri hanya untuk perjalanan ke negara lain.",
            [citation],
        )
    if draft.travel_purpose is None:
        raise _Refused(
            "travel_purpose_required",
            "Sebutkan tujuan perjalanan ke luar negeri: dinas (kedinasan) atau pribadi.",
            [citation],
        )
    return citation


def _check_weekly_limit(
    loaded: LoadedPack,
    regional: LoadedPack | None,
    kind: RequestKind,
    dates: list[date],
    usage: UsageSnapshot,
) -> Citation | None:
    rule = loaded.pack.flexible.weekly_limit
    if rule is None or kind not in rule.kinds:
        return None
    # Days inside a region's circular window follow that circular, not the weekly quota.
    exempt = regional.window_dates if regional is not None and regional is not loaded else frozenset()
    mine = {d for d, k in usage.own_approved_dates.items() if k in rule.kinds}
    mine |= usage.own_pending_flexible_dates
    mine |= set(dates)
    by_week: dict[tuple[int, int], list[date]] = {}
    for day in sorted(mine):
        if day not in exempt and is_working_day(day):
            by_week.setdefault(day.isocalendar()[:2], []).append(day)
    for day in dates:
        week = by_week.get(day.isocalendar()[:2], [])
        if len(week) > rule.max_days_per_week:
            raise _Refused(
                "weekly_flexible_limit",
                f"Kerja dengan lokasi fleksibel paling banyak {rule.max_days_per_week} hari kerja "
                "per minggu; "
                f"pada minggu {format_tanggal(week[0])} – {format_tanggal(week[-1])} Anda akan memiliki "
                f"{len(week)} hari (yang disetujui, yang masih diproses, dan yang diajukan).",
                [loaded.cite(rule)],
            )
    return loaded.cite(rule)


def _unit_caps(
    loaded: LoadedPack,
    requester: Person,
    kind: RequestKind,
    dates: list[date],
    directory: DirectoryIndex,
    usage: UsageSnapshot,
) -> tuple[UnitDailyCap, ...]:
    rule = unit_cap_for(loaded, requester, kind)
    if rule is None:
        return ()
    size = directory.unit_size(requester.region, requester.unit_code)
    cap = rule.cap_for(size)
    for day in dates:
        away = usage.unit_flexible_by_date.get(day, 0)
        if away >= cap:
            raise _Refused(
                "unit_cap_reached",
                f"Pada {format_tanggal(day)} sudah {away} dari {size} pegawai {requester.unit_name} "
                f"({requester.opd_name}) disetujui bekerja fleksibel; batasnya {cap} orang per hari.",
                [loaded.cite(rule)],
            )
    return (
        UnitDailyCap(
            unit_code=requester.unit_code,
            kinds=rule.kinds,
            cap=cap,
            unit_size=size,
            dates=tuple(dates),
            citation=loaded.cite(rule),
        ),
    )


def _leave_rule(
    loaded: LoadedPack,
    requester: Person,
    kind: RequestKind,
    dates: list[date],
    counted: list[date],
    *,
    attachments: int = 0,
) -> tuple[LeaveKindRule, list[Citation]]:
    """The kind's rule the request meets, and the document rules that stood in for a missing condition."""
    pack = loaded.pack
    rule = next((k for k in pack.leave.kinds if k.kind == kind), None)
    if rule is None:
        raise _Refused(
            "kind_not_allowed",
            f"{KIND_LABEL[kind]} tidak diatur dalam paket {pack.id}.",
            [loaded.cite(k) for k in pack.leave.kinds],
        )
    label = KIND_LABEL[kind]
    if requester.employee_type not in rule.employee_types:
        raise _Refused(
            "employee_type_not_allowed",
            f"{label.capitalize()} tidak diberikan kepada {EMPLOYEE_LABEL[requester.employee_type]}.",
            [loaded.cite(rule)],
        )
    if rule.gender is not None and gender_from_nip(requester.nip) != rule.gender:
        raise _Refused(
            "not_eligible",
            f"{label.capitalize()} hanya bagi pegawai {'perempuan' if rule.gender == 'P' else 'laki-laki'} "
            f"(digit ke-15 NIP {requester.nip} menunjukkan sebaliknya).",
            [loaded.cite(rule)],
        )
    waived_by: list[Citation] = []
    if rule.min_service_years:
        years, since = _service(requester, dates[0])
        waivers = [d for d in rule.documents if d.waives_min_service]
        if (years is None or years < rule.min_service_years) and not (waivers and attachments):
            waiver = f" kecuali dengan melampirkan {waivers[0].document}" if waivers else ""
            raise _Refused(
                "service_too_short",
                f"{label.capitalize()} mensyaratkan masa kerja paling sedikit "
                f"{rule.min_service_years} tahun{waiver}; "
                f"masa kerja Anda pada {format_tanggal(dates[0])} {years or 0} tahun ({since}).",
                [loaded.cite(rule), *(loaded.cite(w) for w in waivers)],
            )
        if years is None or years < rule.min_service_years:
            waived_by = [loaded.cite(w) for w in waivers]
    length = len(dates) if rule.counting == "calendar_days" else len(counted)
    if rule.max_days is not None and length > rule.max_days:
        unit = "hari kalender" if rule.counting == "calendar_days" else "hari kerja"
        raise _Refused(
            "leave_too_long",
            f"{label.capitalize()} paling lama {rule.max_days} {unit}; yang diajukan {length} {unit}.",
            [loaded.cite(rule)],
        )
    return rule, waived_by


def _documents(
    loaded: LoadedPack, rule: LeaveKindRule, dates: list[date], counted: list[date], attachments: int
) -> list[Citation]:
    """The document rules this request falls under; refused when fewer files are attached than they ask."""
    length = len(dates) if rule.counting == "calendar_days" else len(counted)
    needed = [d for d in rule.documents if not d.waives_min_service and length > d.more_than_days]
    if len(needed) > attachments:
        names = ", ".join(d.document for d in needed)
        raise _Refused(
            "document_required",
            f"{KIND_LABEL[rule.kind].capitalize()} {length} hari wajib melampirkan {names} (PDF, JPEG atau PNG).",
            [loaded.cite(d) for d in needed],
        )
    return [loaded.cite(d) for d in needed]


def _service(requester: Person, on: date) -> tuple[int | None, str]:
    """Completed years of continuous service on `on` and where they are counted from, for the refusal text.

    The directory's `service_start` when given, else a PNS NIP's TMT. A PPPK row without `service_start`
    falls back to the number's digits 9–14 as before the column existed (see docs/RULES.md).
    """
    if requester.service_start is not None:
        return years_of_service(requester, on), f"mulai {format_tanggal(requester.service_start)}"
    tmt = tmt_from_nip(requester.nip)
    since = f"TMT {tmt.month:02d}/{tmt.year}" if tmt is not None else "TMT tidak terbaca dari NIP"
    return service_years(requester.nip, on), since


def _annual_leave_debit(loaded: LoadedPack, requester: Person, counted: list[date], usage: UsageSnapshot) -> LeaveDebit:
    rule = loaded.pack.leave.annual
    years = sorted({d.year for d in counted})
    if len(years) > 1:
        raise _Refused(
            "leave_spans_years",
            "Cuti tahunan dihitung per tahun; ajukan terpisah untuk tanggal di tahun "
            + " dan ".join(str(y) for y in years)
            + ".",
            [loaded.cite(rule)],
        )
    year = years[0]
    balance = annual_leave_balance(
        year,
        employee_type=requester.employee_type,
        used_by_year=usage.annual_leave_used,
        rule=rule,
        deferred_into=usage.annual_leave_deferred,
        cuti_besar_years=usage.cuti_besar_years,
    )
    if len(counted) > balance.available:
        raise _Refused(
            "insufficient_leave_balance",
            f"Sisa cuti tahunan {year}: {balance.available} hari kerja "
            f"(hak {balance.entitlement - balance.carried_over} + "
            f"penangguhan {balance.carried_over} − cuti bersama {balance.cuti_bersama} − terpakai "
            f"{balance.used}); yang diajukan {len(counted)} hari kerja.",
            [loaded.cite(rule)],
        )
    return LeaveDebit(
        year=year,
        days=len(counted),
        entitlement=balance.entitlement,
        available=balance.available,
        citation=loaded.cite(rule),
    )


def _remote_place_extension(loaded: LoadedPack, kind: RequestKind, extra_days: int) -> Citation | None:
    """Annual leave spent in a place hard to reach may run on for the pack's calendar days of travel (PP 11/2017,
    Peraturan BKN 24/2017); they are recorded with the leave and never taken from the annual-leave right."""
    if not extra_days:
        return None
    annual = loaded.pack.leave.annual
    rule = annual.remote_place_extra_days
    if kind != RequestKind.CUTI_TAHUNAN:
        raise _Refused(
            "extra_days_not_applicable",
            "Tambahan hari karena tempat yang sulit perhubungannya hanya untuk cuti tahunan.",
            [loaded.cite(rule or annual)],
        )
    if rule is None:
        raise _Refused(
            "extra_days_not_allowed",
            "Paket kebijakan yang berlaku tidak memberikan tambahan hari cuti tahunan karena tempat yang sulit "
            "perhubungannya.",
            [loaded.cite(annual)],
        )
    if extra_days > rule.max_days:
        raise _Refused(
            "extra_days_exceeded",
            f"Cuti tahunan di tempat yang sulit perhubungannya dapat ditambah paling lama {rule.max_days} hari "
            f"kalender; yang diajukan {extra_days} hari.",
            [loaded.cite(rule)],
        )
    return loaded.cite(rule)


def _obligations(loaded: LoadedPack, kind: RequestKind) -> tuple[Obligation, ...]:
    return tuple(
        Obligation(
            kind=rule.duty,
            windows=tuple(DutyWindow(label=w.label, start=w.start, end=w.end) for w in rule.windows),
            deadline=rule.deadline,
            report_to=rule.report_to,
            location_precision_decimals=rule.location_precision_decimals,
            retention_days=rule.retention_days,
            cadence=rule.cadence,
            citation=loaded.cite(rule),
        )
        for rule in loaded.pack.obligations
        if kind in rule.kinds
    )


# --- routing ----------------------------------------------------------------------------------------------


_POSTS: WeakKeyDictionary[DirectoryIndex, dict[tuple[Tier, str, str], PostHolder | None]] = WeakKeyDictionary()


def _post(directory: DirectoryIndex, tier: Tier, requester: Person) -> PostHolder | None:
    """Who holds the post at `tier` above the requester, memoised per directory (the index is immutable)."""
    key_code = {Tier.UNIT_HEAD: requester.unit_code, Tier.OPD_HEAD: requester.opd_code, Tier.PPK: ""}[tier]
    memo = _POSTS.setdefault(directory, {})
    key = (tier, requester.region, key_code)
    if key not in memo:
        if tier == Tier.UNIT_HEAD:
            memo[key] = directory.unit_head(requester.region, key_code)
        elif tier == Tier.OPD_HEAD:
            memo[key] = directory.opd_head(requester.region, key_code)
        else:
            memo[key] = directory.ppk(requester.region)
    return memo[key]


def _is_self(holder: PostHolder, requester: Person) -> bool:
    return requester.nip in (holder.nip, holder.assignee_nip)


def _step_tier(spec: StepSpec, leave_rule: LeaveKindRule | None) -> Tier:
    if spec.tier == PYBMC:
        return leave_rule.pybmc if leave_rule is not None else Tier.PPK
    return Tier(spec.tier)


def _planned_steps(
    pack: PolicyPack, requester: Person, kind: RequestKind, abroad: bool, in_window: bool
) -> list[tuple[Tier, str, Rule, BindingConsideration | None]]:
    """The pack's tiers for this request, lowest first, before people are put on them."""
    base = next((r for r in pack.routing.base if kind in r.kinds), None)
    if base is None:
        return []
    leave_rule = next((k for k in pack.leave.kinds if k.kind == kind), None)
    planned: dict[Tier, tuple[str, Rule, BindingConsideration | None]] = {}
    for spec in base.steps:
        planned[_step_tier(spec, leave_rule)] = (spec.action, base, spec.binding)
    for extra in pack.routing.extra:
        if _matches(extra.when, requester, kind, abroad, in_window):
            tier = _step_tier(extra.add, leave_rule)
            already_approves = tier in planned and planned[tier][0] == "approve"
            action = "approve" if already_approves else extra.add.action
            # the more specific rule is the reason the tier is there, so its citation is the one shown
            planned[tier] = (action, extra, extra.add.binding if action == "recommend" else None)
    ordered = sorted(planned.items(), key=lambda item: RANK[item[0]])
    return [(tier, action, rule, binding) for tier, (action, rule, binding) in ordered]


def _route(
    loaded: LoadedPack,
    requester: Person,
    kind: RequestKind,
    directory: DirectoryIndex,
    *,
    abroad: bool,
    in_window: bool,
    on_cltn: frozenset[str] = frozenset(),
) -> tuple[RouteStep, ...]:
    """`on_cltn`: holders whose approved CLTN covers a requested day; their posts are vacant for it."""
    pack = loaded.pack
    planned = _planned_steps(pack, requester, kind, abroad, in_window)
    upward = loaded.cite(pack.routing.upward)
    if not planned:
        raise _Refused("no_approver", f"Paket {pack.id} tidak mengatur rute untuk {KIND_LABEL[kind]}.", [upward])

    # A head's own request starts one tier above the post they hold (or act in).
    own_rank = -1
    for tier in TIER_ORDER:
        holder = _post(directory, tier, requester)
        if holder is not None and _is_self(holder, requester):
            own_rank = RANK[tier]
    kept = [step for step in planned if RANK[step[0]] > own_rank]
    needs_decider = not kept or kept[-1][1] != "approve"
    first_up = max(own_rank, RANK[planned[-1][0]]) + 1

    vacated = _cltn_citation(loaded)
    moved_by_cltn = False
    steps: list[RouteStep] = []
    for index, (tier, action, rule, binding) in enumerate(kept):
        holder = _post(directory, tier, requester)
        if holder is None or _is_self(holder, requester):
            if index == len(kept) - 1 and action == "approve":
                needs_decider = True  # the deciding tier is empty: the decision moves up
                first_up = RANK[tier] + 1
            continue
        present = _present(directory, tier, holder, on_cltn, requester)
        if present is None:  # the holder is on CLTN and no Plt/Plh acts: the post is vacant for these days
            moved_by_cltn = True
            if index == len(kept) - 1 and action == "approve":
                needs_decider = True
                first_up = RANK[tier] + 1
            continue
        # the step that takes over from a holder on CLTN (theirs by a Plt, or the next one up) says why
        passed_over = moved_by_cltn or present is not holder
        citation = vacated if passed_over and vacated is not None else loaded.cite(rule)
        moved_by_cltn = False
        step = _route_step(tier, present, action, citation)
        if binding is not None:
            step = step.model_copy(update={"binding": True, "binding_citation": loaded.cite(binding)})
        steps.append(step)
    if needs_decider:
        why = vacated if moved_by_cltn and vacated is not None else upward
        steps.append(_decider_above(loaded, requester, directory, first_up, why, on_cltn))

    # One person never signs twice in a row (a kepala dinas acting as Plt kepala bidang):
    # keep the higher post.
    collapsed: list[RouteStep] = []
    for step in steps:
        if collapsed and collapsed[-1].approver_nip == step.approver_nip:
            collapsed.pop()
        collapsed.append(step)
    return tuple(collapsed)


def _decider_above(
    loaded: LoadedPack,
    requester: Person,
    directory: DirectoryIndex,
    from_rank: int,
    upward: Citation,
    on_cltn: frozenset[str] = frozenset(),
) -> RouteStep:
    vacated = _cltn_citation(loaded) or upward
    for tier in TIER_ORDER[from_rank:]:
        holder = _post(directory, tier, requester)
        if holder is None or _is_self(holder, requester):
            continue
        present = _present(directory, tier, holder, on_cltn, requester)
        if present is None:
            upward = vacated
            continue
        return _route_step(tier, present, "approve", upward if present is holder else vacated)
    named = loaded.pack.routing.ppk_own_request
    if named is not None and named.nip != requester.nip:
        return RouteStep(
            tier=Tier.PPK,
            approver_nip=named.nip,
            approver_name=named.name,
            action="approve",
            citation=loaded.cite(named),
        )
    raise _Refused(
        "no_approver",
        "Tidak ada pejabat di atas Anda dalam direktori yang berwenang memutus permohonan ini, dan paket "
        f"{loaded.pack.id} tidak menunjuk pejabat lain.",
        [upward],
    )


_TIER_ROLE = {Tier.UNIT_HEAD: Role.UNIT_HEAD, Tier.OPD_HEAD: Role.OPD_HEAD, Tier.PPK: Role.PPK}


def _present(
    directory: DirectoryIndex, tier: Tier, holder: PostHolder, on_cltn: frozenset[str], requester: Person
) -> PostHolder | None:
    """The post's holder for the requested days: a holder on CLTN is released from the post (PP 11/2017), so
    a Plt/Plh named for them in the directory takes it, else no one does and the tier is passed over. A Plt/Plh
    who is the requester never takes the post for their own request."""
    if holder.assignee_nip not in on_cltn:
        return holder
    role = _TIER_ROLE[tier]
    for plt in directory.acting_officials_for(holder.nip):
        if role in plt.roles and plt.nip not in on_cltn and plt.nip != requester.nip:
            return PostHolder(nip=holder.nip, name=holder.name, acting=plt)
    return None


def _cltn_citation(loaded: LoadedPack) -> Citation | None:
    """The pack's CLTN rule: the reason a route passes over a holder on CLTN."""
    rule = next((k for k in loaded.pack.leave.kinds if k.kind == RequestKind.CLTN), None)
    return loaded.cite(rule) if rule is not None else None


def _route_step(tier: Tier, holder: PostHolder, action: str, citation: Citation) -> RouteStep:
    acting = holder.acting
    return RouteStep(
        tier=tier,
        approver_nip=holder.assignee_nip,
        approver_name=acting.name if acting is not None else holder.name,
        on_behalf_of=holder.nip if acting is not None else None,
        action="recommend" if action == "recommend" else "approve",
        citation=citation,
    )


# --- helpers ----------------------------------------------------------------------------------------------


def _matches(
    when: Applicability,
    requester: Person,
    kind: RequestKind,
    abroad: bool,
    in_window: bool,
    travel_purpose: str | None = None,
) -> bool:
    return (
        (when.travel_purpose is None or when.travel_purpose == travel_purpose)
        and (when.kinds is None or kind in when.kinds)
        and (when.employee_types is None or requester.employee_type in when.employee_types)
        and (when.opd_classes is None or requester.opd_class in when.opd_classes)
        and (when.abroad is None or when.abroad == abroad)
        and (when.in_window is None or when.in_window == in_window)
    )


def _instrument(loaded: LoadedPack) -> str:
    return loaded.pack.legal_basis[0].instrument


def _normalised(dates: Iterable[date]) -> list[date]:
    return sorted(set(dates))


def _unique(citations: Iterable[Citation]) -> list[Citation]:
    seen: set[tuple[str, str, str]] = set()
    out: list[Citation] = []
    for citation in citations:
        key = (citation.pack_id, citation.pack_version, citation.rule_id)
        if key not in seen:
            seen.add(key)
            out.append(citation)
    return out


__all__ = [
    "evaluate",
    "evaluate_under",
    "evaluate_with",
    "piket_days",
    "route_for",
    "staffing_minimum_for",
    "travel_route_rule",
    "trip_leave_notice",
    "unit_cap_for",
    "window_days",
]
