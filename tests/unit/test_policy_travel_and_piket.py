"""Permission to travel abroad (IZIN_LUAR_NEGERI) and piket rosters per OPD class, judged by the shipped packs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.common import Location, RequestKind, Tier
from contracts.evaluation import UsageSnapshot
from contracts.policy_pack import LEAVE_KINDS
from policy.evaluator import piket_days, trip_leave_notice

from .policy_support import (
    BITUNG_DIRECT,
    BITUNG_SUPPORT,
    BITUNG_VITAL,
    KENDARI_SUPPORT,
    KUTIM_STAFF,
    judge,
    packs,
    person,
)

SINGAPORE = Location(text="Orchard Road, Singapura", country="SG")
MANADO = Location(text="Manado", country="ID")
# Fri 26 (cuti bersama), Sat 27, Sun 28, Mon 29 Dec 2025: one trip over a holiday, a weekend and a working day
TRIP = [date(2025, 12, 26), date(2025, 12, 27), date(2025, 12, 28), date(2025, 12, 29)]


def test_the_kind_is_neither_leave_nor_flexible_work() -> None:
    kind = RequestKind.IZIN_LUAR_NEGERI
    assert kind.is_travel_abroad and not kind.is_leave and not kind.is_flexible_work
    assert kind not in LEAVE_KINDS


def test_bitung_routes_every_day_abroad_to_the_ppk_through_both_heads() -> None:
    evaluation = judge(BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="dinas")
    assert evaluation.allowed, evaluation.refusal
    assert evaluation.policy.id == "bitung"
    assert [s.tier for s in evaluation.route] == [Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK]
    assert all(s.action == "approve" for s in evaluation.route)
    # the holiday and the weekend are part of the trip, not refused as non-working days
    assert evaluation.working_days == 1
    ppk = evaluation.route[-1]
    assert ppk.citation.rule_id in {"bitung.rute-izin-luar-negeri", "bitung.izin-ppk-luar-negeri"}
    assert "SE Wali Kota Bitung" in ppk.citation.source


@pytest.mark.parametrize("nip", [KENDARI_SUPPORT, KUTIM_STAFF])
def test_other_regions_use_the_national_route_superior_then_ppk(nip: str) -> None:
    evaluation = judge(nip, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="dinas")
    assert evaluation.allowed, evaluation.refusal
    assert evaluation.policy.id == "national-baseline"
    assert [(s.tier, s.action) for s in evaluation.route] == [(Tier.UNIT_HEAD, "recommend"), (Tier.PPK, "approve")]
    assert {s.citation.rule_id for s in evaluation.route} == {"baseline.rute-izin-luar-negeri"}
    assert "Permendagri No. 59 Tahun 2019" in evaluation.route[-1].citation.source


def test_a_destination_in_indonesia_is_refused_with_the_route_clause() -> None:
    evaluation = judge(BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=MANADO, travel_purpose="pribadi")
    assert evaluation.refusal is not None and evaluation.refusal.code == "destination_not_abroad"
    assert [c.rule_id for c in evaluation.refusal.citations] == ["bitung.rute-izin-luar-negeri"]


def test_the_destination_and_the_purpose_are_required() -> None:
    missing_place = judge(BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, travel_purpose="dinas")
    assert missing_place.refusal is not None and missing_place.refusal.code == "location_required"
    missing_purpose = judge(KENDARI_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE)
    assert missing_purpose.refusal is not None and missing_purpose.refusal.code == "travel_purpose_required"
    assert missing_purpose.refusal.citations[0].rule_id == "baseline.rute-izin-luar-negeri"


def test_a_trip_is_not_refused_for_days_already_covered_by_leave() -> None:
    usage = UsageSnapshot(own_approved_dates={date(2025, 12, 29): RequestKind.CUTI_TAHUNAN})
    evaluation = judge(
        BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="pribadi", usage=usage
    )
    assert evaluation.allowed, evaluation.refusal


def test_a_vital_opd_may_travel_abroad_although_it_works_from_the_office() -> None:
    evaluation = judge(BITUNG_VITAL, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="pribadi")
    assert evaluation.allowed, evaluation.refusal
    assert evaluation.caps == () and evaluation.leave_debit is None and evaluation.obligations == ()


def test_a_personal_trip_over_working_days_needs_leave_for_exactly_those_days() -> None:
    bitung = packs().get("bitung")
    assert bitung is not None
    notice = trip_leave_notice(bitung, RequestKind.IZIN_LUAR_NEGERI, "pribadi", TRIP)
    assert notice is not None
    rule, days = notice
    assert rule.id == "bitung.cuti-perjalanan-pribadi"
    assert days == [date(2025, 12, 29)]
    evaluation = judge(BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="pribadi")
    assert "bitung.cuti-perjalanan-pribadi" in {c.rule_id for c in evaluation.citations}
    # an official trip, or a personal one over the holiday and the weekend only, needs no leave
    assert trip_leave_notice(bitung, RequestKind.IZIN_LUAR_NEGERI, "dinas", TRIP) is None
    assert trip_leave_notice(bitung, RequestKind.IZIN_LUAR_NEGERI, "pribadi", TRIP[:3]) is None
    official = judge(BITUNG_SUPPORT, "IZIN_LUAR_NEGERI", TRIP, location=SINGAPORE, travel_purpose="dinas")
    assert "bitung.cuti-perjalanan-pribadi" not in {c.rule_id for c in official.citations}


def test_bitung_piket_days_per_opd_class() -> None:
    bitung = packs().get("bitung")
    assert bitung is not None
    nataru = [date(2025, 12, 24) + timedelta(days=i) for i in range(10)]
    vital = piket_days(bitung, person(BITUNG_VITAL).opd_class)
    assert sorted(vital) == nataru  # every day of 24 Dec 2025 – 2 Jan 2026
    assert vital[date(2025, 12, 30)].id == "bitung.piket-opd-vital"
    assert vital[date(2025, 12, 26)].id == "bitung.piket-cuti-bersama"  # the rule for every OPD comes first
    for nip in (BITUNG_SUPPORT, BITUNG_DIRECT):
        other = piket_days(bitung, person(nip).opd_class)
        assert sorted(other) == [date(2025, 12, 26), date(2025, 12, 27)]
    # the days closed to leave and flexible work are only the ones every OPD keeps
    assert sorted(piket_days(bitung)) == [date(2025, 12, 26), date(2025, 12, 27)]
