"""The evaluator: routes with real approvers, heads and acting officials, caps, duplicates, pack choice,
judging under an explicit or draft pack, and properties that must hold for any request."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.common import Location, RequestKind, Tier
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft, UsageSnapshot
from policy.calendar import is_working_day
from policy.directory import DirectoryIndex, parse_directory_csv
from policy.evaluator import evaluate, evaluate_under, evaluate_with, route_for, unit_cap_for
from policy.leave import gender_from_nip, service_years
from policy.packs import LoadedPack, PackSet, load_pack

from .policy_support import (
    BITUNG_DIRECT,
    BITUNG_PLH,
    BITUNG_SUPPORT,
    KENDARI_PLH,
    KENDARI_SUPPORT,
    KUTIM_OPD_HEAD,
    KUTIM_PPK,
    KUTIM_STAFF,
    KUTIM_UNIT_HEAD,
    LUWU_DIRECT,
    LUWU_SUPPORT_F,
    PACKS_DIR,
    PESBAR_SUPPORT,
    SAMPLE_CSV,
    TODAY,
    directory,
    judge,
    packs,
    people,
)

D24, D29, D30, D31 = date(2025, 12, 24), date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31)
J2, J5 = date(2026, 1, 2), date(2026, 1, 5)
HOME = Location(text="Rumah", country="ID")
ABROAD = Location(text="Kuala Lumpur", country="MY")
KENDARI_TEXT = (PACKS_DIR / "kendari.yaml").read_text(encoding="utf-8")

# A variant directory with acting officials in vacant posts (Plt):
#  - Kendari Diskominfo Bidang 1 has no head; Hendra Wulan is Plt for the absent holder 199306072018061182.
#  - Kendari DPMPTSP has no kepala; Made Indah (staff of Bidang 1) is Plt kepala for 198109082006102170.
#  - Kutai Timur Bappeda: Sari Lestari heads Bidang 1 and is also kepala Bappeda (two tiers, one person).
VACANT_UNIT_HOLDER = "199306072018061182"
PLT_UNIT_HEAD = "198509232007012183"
VACANT_OPD_HOLDER = "198109082006102170"
PLT_OPD_HEAD = "198402032007112172"
TWO_HATS = "199409102016122027"


@lru_cache(maxsize=1)
def plt_people() -> tuple[Person, ...]:
    reader = csv.DictReader(io.StringIO(SAMPLE_CSV.read_text(encoding="utf-8")))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or ()), lineterminator="\n")
    writer.writeheader()
    for row in reader:
        nip = row["nip"]
        if nip in (VACANT_UNIT_HOLDER, VACANT_OPD_HOLDER, KUTIM_OPD_HEAD):
            continue
        if nip == PLT_UNIT_HEAD:
            row.update(roles="unit_head", acting_for=VACANT_UNIT_HOLDER)
        elif nip == PLT_OPD_HEAD:
            row.update(roles="opd_head", acting_for=VACANT_OPD_HOLDER)
        elif nip == TWO_HATS:
            row.update(roles="unit_head;opd_head", acting_for="")
        writer.writerow(row)
    return parse_directory_csv(out.getvalue(), today=TODAY)


@lru_cache(maxsize=1)
def plt_directory() -> DirectoryIndex:
    return DirectoryIndex(plt_people())


def _steps(evaluation: Evaluation) -> list[tuple[Tier, str, str | None]]:
    return [(s.tier, s.approver_nip, s.on_behalf_of) for s in evaluation.route]


def _variant(text: str, *replacements: tuple[str, str]) -> LoadedPack:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return load_pack(text)


# --- routes -----------------------------------------------------------------------------------------


def test_staff_route_names_the_real_approvers() -> None:
    evaluation = judge(KUTIM_STAFF, "WFH", [D29])
    assert evaluation.allowed
    assert _steps(evaluation) == [
        (Tier.UNIT_HEAD, KUTIM_UNIT_HEAD, None),
        (Tier.OPD_HEAD, KUTIM_OPD_HEAD, None),
    ]
    assert [s.approver_name for s in evaluation.route] == ["Rahmat Lestari", "Teguh Andi"]
    assert evaluation.timezone == "Asia/Makassar"
    assert evaluation.policy == packs().get("kutai-timur").ref  # type: ignore[union-attr]
    assert evaluation.working_days == 1


def test_heads_start_one_tier_up_and_the_ppk_has_no_approver() -> None:
    assert [s.tier for s in judge(KUTIM_UNIT_HEAD, "WFH", [D29]).route] == [Tier.OPD_HEAD]
    opd_head = judge(KUTIM_OPD_HEAD, "WFH", [D29])
    assert [(s.tier, s.approver_nip) for s in opd_head.route] == [(Tier.PPK, KUTIM_PPK)]
    assert opd_head.route[0].citation.rule_id == "kutai-timur.jenjang-ke-atas"
    ppk = judge(KUTIM_PPK, "WFH", [D29])
    assert ppk.refusal is not None and ppk.refusal.code == "no_approver"
    assert ppk.refusal.citations[0].rule_id == "kutai-timur.jenjang-ke-atas"


def test_a_pack_can_name_who_decides_for_the_ppk() -> None:
    named = _variant(
        KENDARI_TEXT,
        (
            "  upward:\n    id: kendari.jenjang-ke-atas",
            "  ppk_own_request:\n    id: kendari.atasan-ppk\n    basis: pp-11-2017\n"
            "    clause: Permohonan Wali Kota diputus Gubernur.\n    nip: '196807151990031005'\n"
            "    name: Gubernur Sulawesi Tenggara\n"
            "  upward:\n    id: kendari.jenjang-ke-atas",
        ),
    )
    evaluation = judge("198609222008011156", "WFH", [D29], packset=packs().with_pack(named))
    assert evaluation.allowed
    assert _steps(evaluation) == [(Tier.PPK, "196807151990031005", None)]
    assert evaluation.route[0].citation.rule_id == "kendari.atasan-ppk"


def test_people_without_a_unit_head_go_to_the_next_tier_up() -> None:
    # the BKPSDM admin sits in a unit with no head and an OPD with no kepala: the PPK decides
    evaluation = judge("199702202019041158", "WFH", [D29])
    assert [s.tier for s in evaluation.route] == [Tier.PPK]


def test_plh_for_a_present_holder_routes_to_the_holder() -> None:
    evaluation = judge(BITUNG_PLH, "WFH", [D29])
    assert [s.approver_nip for s in evaluation.route] == ["198202162006091068", "199607172020121062"]
    evaluation = judge(KENDARI_PLH, "WFH", [D29])
    assert BITUNG_PLH not in [s.approver_nip for s in evaluation.route]
    assert [s.approver_nip for s in evaluation.route][0] == "198110052005061165"


def test_plt_in_a_vacant_post_acts_on_behalf_of_the_holder() -> None:
    staff = judge("197101041993101185", "WFH", [D29], index=plt_directory())
    assert _steps(staff)[0] == (Tier.UNIT_HEAD, PLT_UNIT_HEAD, VACANT_UNIT_HOLDER)
    assert staff.route[0].approver_name == "Hendra Wulan"
    opd = judge("197111271997062173", "WFH", [D29], index=plt_directory())
    assert _steps(opd) == [
        (Tier.UNIT_HEAD, "197606202001031171", None),
        (Tier.OPD_HEAD, PLT_OPD_HEAD, VACANT_OPD_HOLDER),
    ]


def test_a_plt_never_approves_their_own_request() -> None:
    unit_plt = judge(PLT_UNIT_HEAD, "WFH", [D29], index=plt_directory())
    assert [s.tier for s in unit_plt.route] == [Tier.OPD_HEAD]
    opd_plt = judge(PLT_OPD_HEAD, "WFH", [D29], index=plt_directory())
    assert [s.tier for s in opd_plt.route] == [Tier.PPK]
    for evaluation, nip in ((unit_plt, PLT_UNIT_HEAD), (opd_plt, PLT_OPD_HEAD)):
        assert nip not in {s.approver_nip for s in evaluation.route}


def test_one_person_on_two_tiers_signs_once() -> None:
    evaluation = judge("198104182007092028", "WFH", [D29], index=plt_directory())
    assert _steps(evaluation) == [(Tier.OPD_HEAD, TWO_HATS, None)]


def test_route_for_is_usable_on_its_own() -> None:
    loaded = packs().get("bitung")
    assert loaded is not None
    requester = directory().get(BITUNG_SUPPORT)
    assert requester is not None
    route = route_for(loaded, requester, RequestKind.WFA, directory(), abroad=True, in_window=True)
    assert [s.tier for s in route] == [Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK]
    ppk = directory().get("199512212017091037")
    assert ppk is not None and route_for(loaded, ppk, RequestKind.WFH, directory()) == ()


def test_recommend_then_approve_in_pesisir_barat() -> None:
    evaluation = judge(PESBAR_SUPPORT, "WFH", [D29])
    assert [(s.tier, s.action) for s in evaluation.route] == [
        (Tier.UNIT_HEAD, "recommend"),
        (Tier.OPD_HEAD, "approve"),
    ]
    assert evaluation.timezone == "Asia/Jakarta"


def test_leave_goes_to_the_pybmc_or_its_delegate() -> None:
    evaluation = judge(KUTIM_STAFF, "CUTI_SAKIT", [J5])
    assert [(s.tier, s.action) for s in evaluation.route] == [
        (Tier.UNIT_HEAD, "recommend"),
        (Tier.PPK, "approve"),
    ]
    delegated = _variant(
        KENDARI_TEXT,
        (
            "      kind: CUTI_SAKIT\n      employee_types: [PNS, PPPK, PPPK_PW]\n"
            "      counting: calendar_days\n      pybmc: PPK",
            "      kind: CUTI_SAKIT\n      employee_types: [PNS, PPPK, PPPK_PW]\n"
            "      counting: calendar_days\n      pybmc: OPD_HEAD",
        ),
    )
    evaluation = judge(KENDARI_SUPPORT, "CUTI_SAKIT", [J5], packset=packs().with_pack(delegated))
    assert [(s.tier, s.action) for s in evaluation.route] == [
        (Tier.UNIT_HEAD, "recommend"),
        (Tier.OPD_HEAD, "approve"),
    ]


def test_kendari_annual_leave_needs_the_wali_kota_and_is_debited() -> None:
    usage = UsageSnapshot(annual_leave_used={2024: 0, 2025: 0})
    evaluation = judge(KENDARI_SUPPORT, "CUTI_TAHUNAN", [D29, D30], usage=usage)
    assert evaluation.allowed
    assert [s.tier for s in evaluation.route] == [Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK]
    assert evaluation.route[-1].approver_name == "Citra Kurnia"
    debit = evaluation.leave_debit
    assert debit is not None
    # 12 days of 2025 (its cuti bersama does not count, Keppres 2/2025) plus what 2024 left: 12 less its 10
    # weekday cuti bersama, which that year did reduce annual leave
    assert (debit.year, debit.days, debit.entitlement, debit.available) == (2025, 2, 14, 14)


def test_bitung_leave_abroad_during_the_window_needs_the_ppk_citation() -> None:
    usage = UsageSnapshot(annual_leave_used={2024: 0, 2025: 0})
    evaluation = judge(BITUNG_SUPPORT, "CUTI_TAHUNAN", [D29], location=ABROAD, usage=usage)
    assert evaluation.route[-1].tier == Tier.PPK
    assert evaluation.route[-1].citation.rule_id == "bitung.izin-ppk-luar-negeri"


# --- pack choice and dates ----------------------------------------------------------------------------


def test_dates_outside_the_window_use_the_baseline() -> None:
    evaluation = judge(BITUNG_DIRECT, "WFH", [J5])
    assert evaluation.allowed and evaluation.policy.id == "national-baseline"
    assert evaluation.caps == ()  # the 50:50 cap is Bitung's window rule, not the baseline's
    assert evaluation.timezone == "Asia/Makassar"


def test_a_request_across_the_window_edge_is_refused_with_advice_to_split() -> None:
    evaluation = judge(KENDARI_SUPPORT, "WFH", [D24, D29])
    assert evaluation.refusal is not None and evaluation.refusal.code == "dates_span_policies"
    assert "Pisahkan" in evaluation.refusal.message
    assert "Rabu, 24 Desember 2025" in evaluation.refusal.message


def test_leave_across_the_window_edge_is_one_request() -> None:
    evaluation = judge(KENDARI_SUPPORT, "CUTI_SAKIT", [D24 + timedelta(days=i) for i in range(14)], attachments=1)
    assert evaluation.allowed and evaluation.policy.id == "kendari"
    assert evaluation.working_days == 7


def test_weekends_holidays_and_past_days_are_refused_by_name() -> None:
    holiday = judge(KENDARI_SUPPORT, "CUTI_TAHUNAN", [date(2025, 12, 25)])
    assert holiday.refusal is not None and holiday.refusal.code == "non_working_day"
    assert "Hari Raya Natal" in holiday.refusal.message and "Kamis, 25 Desember 2025" in holiday.refusal.message
    past = judge(KENDARI_SUPPORT, "WFH", [date(2025, 12, 15)])
    assert past.refusal is not None and past.refusal.code == "past_date"
    assert "WITA" in past.refusal.message


def test_today_as_an_instant_is_read_in_the_region_zone() -> None:
    # 16:30 UTC on 29 Dec is already 30 Dec in WITA (Kendari) but still 29 Dec in WIB (Pesisir Barat)
    now = datetime(2025, 12, 29, 16, 30, tzinfo=UTC)
    kendari = judge(KENDARI_SUPPORT, "WFH", [D29], today=now)
    assert kendari.refusal is not None and kendari.refusal.code == "past_date"
    assert judge(PESBAR_SUPPORT, "WFH", [D29], today=now).allowed


def test_duplicate_of_a_pending_request_is_fine_but_of_an_approved_day_is_not() -> None:
    pending = UsageSnapshot(own_pending_flexible_dates=frozenset({D29}))
    assert judge(KENDARI_SUPPORT, "WFH", [D29], usage=pending).allowed
    approved = UsageSnapshot(own_approved_dates={D29: RequestKind.WFA})
    refused = judge(KENDARI_SUPPORT, "WFH", [D29, D30], usage=approved)
    assert refused.refusal is not None and refused.refusal.code == "already_approved_on_date"


def test_weekly_limit_leaves_window_days_out_and_counts_pending() -> None:
    window_days = UsageSnapshot(own_approved_dates={D29: RequestKind.WFH, D30: RequestKind.WFH})
    assert judge(KENDARI_SUPPORT, "WFH", [J2], usage=window_days).allowed
    pending = UsageSnapshot(own_pending_flexible_dates=frozenset({J5, date(2026, 1, 6)}))
    refused = judge(KENDARI_SUPPORT, "WFH", [date(2026, 1, 8)], usage=pending)
    assert refused.refusal is not None and refused.refusal.code == "weekly_flexible_limit"
    # the same pending days asked again are not counted twice
    assert judge(KENDARI_SUPPORT, "WFH", [J5], usage=pending).allowed


def test_unit_cap_is_returned_for_reservation_at_final_approval() -> None:
    evaluation = judge(BITUNG_DIRECT, "WFH", [D29, D30], usage=UsageSnapshot(unit_flexible_by_date={D30: 1}))
    assert evaluation.allowed
    (cap,) = evaluation.caps
    assert (cap.unit_code, cap.unit_size, cap.cap, cap.dates) == ("DUKCAPIL-U1", 5, 2, (D29, D30))
    assert cap.kinds == frozenset({RequestKind.WFH, RequestKind.WFA})
    loaded = packs().get("bitung")
    requester = directory().get(BITUNG_DIRECT)
    assert loaded is not None and requester is not None
    rule = unit_cap_for(loaded, requester, RequestKind.WFA)
    assert rule is not None and rule.cap_for(5) == 2 and rule.cap_for(6) == 3 and rule.cap_for(1) == 0


def test_leave_rules_from_the_nip() -> None:
    female = judge(LUWU_SUPPORT_F, "CUTI_MELAHIRKAN", [J5 + timedelta(days=i) for i in range(90)], attachments=1)
    assert female.allowed
    too_long = judge(LUWU_SUPPORT_F, "CUTI_ALASAN_PENTING", [J5 + timedelta(days=i) for i in range(31)])
    assert too_long.refusal is not None and too_long.refusal.code == "leave_too_long"
    spans = judge(KENDARI_SUPPORT, "CUTI_TAHUNAN", [D31, J2], usage=UsageSnapshot(annual_leave_used={2025: 0}))
    assert spans.refusal is not None and spans.refusal.code == "leave_spans_years"
    long_service = judge(KENDARI_SUPPORT, "CUTI_BESAR", [J5])
    assert long_service.allowed


def test_annual_leave_before_a_year_of_service_is_refused_with_the_tmt() -> None:
    veteran = directory().get(KENDARI_SUPPORT)
    assert veteran is not None
    newcomer = veteran.model_copy(update={"nip": "199801012025031001", "name": "Pegawai Baru"})  # TMT 03/2025
    index = DirectoryIndex([*people(), newcomer])
    refused = judge(newcomer.nip, "CUTI_TAHUNAN", [J5], index=index, usage=UsageSnapshot(annual_leave_used={2026: 0}))
    assert refused.refusal is not None and refused.refusal.code == "service_too_short"
    assert "TMT 03/2025" in refused.refusal.message and "paling sedikit 1 tahun" in refused.refusal.message
    assert {c.rule_id for c in refused.refusal.citations} == {"kendari.cuti-tahunan"}
    year_on = judge(newcomer.nip, "CUTI_TAHUNAN", [date(2026, 3, 2)], index=index, today=date(2026, 2, 2))
    assert year_on.allowed


def test_obligations_carry_the_duty_details() -> None:
    luwu = judge(LUWU_DIRECT, "WFA", [D29, D30], location=HOME)
    (checkin,) = luwu.obligations
    assert checkin.kind == "location_checkin" and checkin.report_to == Tier.OPD_HEAD
    assert [(w.label, w.start, w.end) for w in checkin.windows] == [
        ("pagi", time(7, 30), time(9, 0)),
        ("sore", time(15, 0), time(16, 30)),
    ]
    assert (checkin.location_precision_decimals, checkin.retention_days) == (3, 90)
    pesbar = judge(PESBAR_SUPPORT, "WFA", [D29], location=HOME)
    assert {(o.kind, o.cadence, o.report_to) for o in pesbar.obligations} == {
        ("e_presensi", "daily", Tier.UNIT_HEAD),
        ("performance_report", "once_after_last_day", Tier.UNIT_HEAD),
    }
    kendari = judge(KENDARI_SUPPORT, "WFH", [D29])
    assert [(o.kind, o.deadline) for o in kendari.obligations] == [("activity_report", time(23, 59))]
    assert kendari.timers.remind_after == timedelta(hours=8)
    assert kendari.timers.escalate_after == timedelta(days=1)
    assert kendari.resubmit_from == "first_tier"


# --- explicit and draft packs ----------------------------------------------------------------------------


def test_resubmission_is_judged_by_the_pack_it_was_first_judged_by() -> None:
    first = packs().get("kendari")
    assert first is not None
    stricter = _variant(
        KENDARI_TEXT,
        ("version: 2025.12.1.1", "version: 2025.12.2"),
        ("kinds: [WFH, WFA]\n  location:", "kinds: [WFA]\n  location:"),
    )
    newer = packs().with_pack(stricter)
    requester = directory().get(KENDARI_SUPPORT)
    assert requester is not None
    draft = RequestDraft(kind=RequestKind.WFH, dates=[D29], reason="uji")
    now = evaluate(
        packs=newer,
        requester=requester,
        draft=draft,
        directory=directory(),
        usage=UsageSnapshot(),
        today=TODAY,
    )
    assert now.refusal is not None and now.refusal.code == "kind_not_allowed"
    original = newer.resolve(first.ref)
    assert original is first
    again = evaluate_under(
        original, requester=requester, draft=draft, directory=directory(), usage=UsageSnapshot(), today=TODAY
    )
    assert again.allowed and again.policy == first.ref
    pinned = evaluate(
        packs=newer,
        requester=requester,
        draft=draft,
        directory=directory(),
        usage=UsageSnapshot(),
        today=TODAY,
        pinned=first.ref,
    )
    assert pinned == again
    unknown = first.ref.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(LookupError):
        evaluate(
            packs=newer,
            requester=requester,
            draft=draft,
            directory=directory(),
            usage=UsageSnapshot(),
            today=TODAY,
            pinned=unknown,
        )


def test_explicit_regional_pack_refuses_dates_outside_its_window() -> None:
    kendari = packs().get("kendari")
    requester = directory().get(KENDARI_SUPPORT)
    assert kendari is not None and requester is not None
    draft = RequestDraft(kind=RequestKind.WFH, dates=[J5], reason="uji")
    evaluation = evaluate_under(
        kendari, requester=requester, draft=draft, directory=directory(), usage=UsageSnapshot(), today=TODAY
    )
    assert evaluation.refusal is not None and evaluation.refusal.code == "outside_window"
    baseline = evaluate_under(
        packs().baseline,
        requester=requester,
        draft=draft,
        directory=directory(),
        usage=UsageSnapshot(),
        today=TODAY,
        regional=kendari,
    )
    assert baseline.allowed and baseline.timezone == "Asia/Makassar"


def test_simulator_judges_under_a_draft_pack() -> None:
    draft_pack = _variant(
        KENDARI_TEXT,
        ("version: 2025.12.1.1", "version: 2026.0.1"),
        (
            "      when: {kinds: [WFA], abroad: true}\n      add: {tier: PPK, action: approve}",
            "      when: {kinds: [WFA], abroad: true}\n      add: {tier: OPD_HEAD, action: approve}",
        ),
    )
    requester = directory().get(KENDARI_SUPPORT)
    assert requester is not None
    draft = RequestDraft(kind=RequestKind.WFA, dates=[D29], location=ABROAD, reason="uji")
    then = evaluate_with(
        regional=packs().get("kendari"),
        baseline=packs().baseline,
        requester=requester,
        draft=draft,
        directory=directory(),
        usage=UsageSnapshot(),
        today=TODAY,
    )
    simulated = evaluate_with(
        regional=draft_pack,
        baseline=packs().baseline,
        requester=requester,
        draft=draft,
        directory=directory(),
        usage=UsageSnapshot(),
        today=TODAY,
    )
    assert [s.tier for s in then.route] == [Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK]
    assert [s.tier for s in simulated.route] == [Tier.UNIT_HEAD, Tier.OPD_HEAD]
    assert simulated.policy.sha256 == draft_pack.sha256


def test_evaluation_is_deterministic() -> None:
    a = judge(BITUNG_SUPPORT, "WFA", [D29, D30], location=ABROAD)
    b = judge(BITUNG_SUPPORT, "WFA", [D30, D29, D29], location=ABROAD)
    assert a == b


# --- properties -------------------------------------------------------------------------------------


SIM_DATES = st.dates(min_value=date(2025, 12, 20), max_value=date(2026, 1, 16))
USAGE = st.builds(
    UsageSnapshot,
    unit_flexible_by_date=st.dictionaries(SIM_DATES, st.integers(min_value=0, max_value=4), max_size=3),
    own_approved_dates=st.dictionaries(SIM_DATES, st.sampled_from(list(RequestKind)), max_size=2),
    own_pending_flexible_dates=st.frozensets(SIM_DATES, max_size=3),
    annual_leave_used=st.dictionaries(
        st.integers(min_value=2023, max_value=2026), st.integers(min_value=0, max_value=12), max_size=4
    ),
)


@dataclass(frozen=True)
class RandomRequest:
    kind: RequestKind
    dates: list[date]
    location: Location | None
    usage: UsageSnapshot
    plt: bool


REQUESTS = st.builds(
    RandomRequest,
    kind=st.sampled_from(list(RequestKind)),
    dates=st.lists(SIM_DATES, min_size=1, max_size=4),
    location=st.one_of(st.none(), st.sampled_from([HOME, ABROAD])),
    usage=USAGE,
    plt=st.booleans(),
)


def _evaluate_random(data: RandomRequest, index: int) -> tuple[Person, Evaluation, DirectoryIndex]:
    index_ = plt_directory() if data.plt else directory()
    population = plt_people() if data.plt else people()
    requester = population[index % len(population)]
    draft = RequestDraft(kind=data.kind, dates=data.dates, location=data.location, reason="uji")
    evaluation = evaluate(
        packs=packs(), requester=requester, draft=draft, directory=index_, usage=data.usage, today=TODAY
    )
    return requester, evaluation, index_


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=REQUESTS, index=st.sampled_from(range(1000)))
def test_no_route_contains_the_requester(data: RandomRequest, index: int) -> None:
    requester, evaluation, _ = _evaluate_random(data, index)
    for step in evaluation.route:
        assert requester.nip not in (step.approver_nip, step.on_behalf_of)
    if evaluation.allowed:
        assert evaluation.route and evaluation.route[-1].action == "approve"
        assert len({s.tier for s in evaluation.route}) == len(evaluation.route)
    else:
        assert evaluation.refusal is not None and evaluation.refusal.citations and evaluation.refusal.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=REQUESTS, index=st.sampled_from(range(1000)))
def test_every_allowed_evaluation_satisfies_its_pack(data: RandomRequest, index: int) -> None:
    requester, evaluation, index_ = _evaluate_random(data, index)
    event(evaluation.refusal.code if evaluation.refusal else f"allowed under {evaluation.policy.id}")
    if not evaluation.allowed:
        return
    loaded = packs().by_sha256(evaluation.policy.sha256)
    assert loaded is not None
    pack = loaded.pack
    kind, usage, dates = data.kind, data.usage, sorted(set(data.dates))
    assert all(d >= TODAY for d in dates)
    assert not any(d in usage.own_approved_dates for d in dates)
    assert evaluation.citations
    if kind.is_flexible_work:
        assert all(is_working_day(d) for d in dates)
        regional = packs().for_region(requester.region)
        if loaded.is_baseline:
            assert regional is None or not any(d in regional.window_dates for d in dates)
        else:
            assert loaded is regional and all(d in loaded.window_dates for d in dates)
        assert any(
            kind in a.kinds and requester.employee_type in a.employee_types and requester.opd_class in a.opd_classes
            for a in pack.flexible.allow
        )
        assert not any(
            (r.when.kinds is None or kind in r.when.kinds)
            and (r.when.opd_classes is None or requester.opd_class in r.when.opd_classes)
            and (r.when.employee_types is None or requester.employee_type in r.when.employee_types)
            for r in pack.flexible.restrict
        )
        if kind == RequestKind.WFA:
            assert data.location is not None
        for cap in evaluation.caps:
            assert all(usage.unit_flexible_by_date.get(d, 0) < cap.cap for d in dates)
            assert cap.unit_size == index_.unit_size(requester.region, requester.unit_code)
        if any(kind in c.kinds and requester.opd_class in c.opd_classes for c in pack.flexible.unit_caps):
            assert evaluation.caps
        limit = pack.flexible.weekly_limit
        if limit is not None:
            for d in dates:
                assert sum(1 for x in dates if x.isocalendar()[:2] == d.isocalendar()[:2]) <= limit.max_days_per_week
    else:
        rule = next(k for k in pack.leave.kinds if k.kind == kind)
        assert requester.employee_type in rule.employee_types
        if rule.gender is not None:
            assert gender_from_nip(requester.nip) == rule.gender
        if rule.min_service_years:
            years = service_years(requester.nip, dates[0])
            assert years is not None and years >= rule.min_service_years
        if kind == RequestKind.CUTI_TAHUNAN:
            debit = evaluation.leave_debit
            assert debit is not None and 0 < debit.days <= debit.available <= debit.entitlement


@pytest.mark.parametrize("region", ["kutai-timur", "bitung", "luwu-utara", "pesisir-barat", "kendari"])
def test_every_region_has_a_working_route_for_its_staff(region: str) -> None:
    staff = [p for p in people() if p.region == region and not p.roles and p.acting_for is None]
    packset: PackSet = packs()
    for requester in staff:
        draft = RequestDraft(kind=RequestKind.CUTI_SAKIT, dates=[J5], reason="uji")
        evaluation = evaluate(
            packs=packset,
            requester=requester,
            draft=draft,
            directory=directory(),
            usage=UsageSnapshot(),
            today=TODAY,
        )
        assert evaluation.allowed, (requester.nip, evaluation.refusal)
        assert evaluation.route[0].tier == Tier.UNIT_HEAD
