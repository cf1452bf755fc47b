"""Annual-leave arithmetic and NIP facts (PP 11/2017 jo PP 17/2020; PP 49/2018)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from contracts.common import EmployeeType
from contracts.policy_pack import AnnualLeaveRule
from policy.leave import (
    annual_leave_balance,
    carry_over_into,
    gender_from_nip,
    own_unused,
    service_years,
    tmt_from_nip,
)

RULE = AnnualLeaveRule(id="uji.cuti", basis=("pp",), clause="uji")
NO_CB = AnnualLeaveRule(id="uji.cuti", basis=("pp",), clause="uji", cuti_bersama_deducted=False)
PNS = EmployeeType.PNS


def no_cuti_bersama(year: int) -> int:
    return 0


def test_plain_year_without_history() -> None:
    balance = annual_leave_balance(2026, employee_type=PNS, used_by_year={}, rule=NO_CB)
    assert (balance.entitlement, balance.carried_over, balance.available) == (12, 0, 12)


def test_cuti_bersama_is_taken_from_the_year() -> None:
    # 2025 has 11 weekday cuti bersama in the holidays package, 2026 has 8
    assert annual_leave_balance(2025, employee_type=PNS, used_by_year={}, rule=RULE).available == 1
    balance = annual_leave_balance(2026, employee_type=PNS, used_by_year={2026: 2}, rule=RULE)
    assert (balance.cuti_bersama, balance.used, balance.available) == (8, 2, 2)


def test_an_exempt_year_keeps_its_cuti_bersama_out_of_annual_leave_and_only_that_year() -> None:
    # the bundled packs: cuti bersama reduces annual leave (PP 11/2017) except in 2025 (Keppres 2/2025)
    rule = RULE.model_copy(update={"cuti_bersama_exempt_years": frozenset({2025})})
    exempt = annual_leave_balance(2025, employee_type=PNS, used_by_year={2025: 3}, rule=rule)
    assert (exempt.cuti_bersama, exempt.available) == (0, 9)
    following = annual_leave_balance(2026, employee_type=PNS, used_by_year={2025: 3, 2026: 0}, rule=rule)
    # 2026 loses its 8 weekday cuti bersama; the 9 days 2025 left carry over up to 6
    assert (following.cuti_bersama, following.carried_over, following.available) == (8, 6, 10)


def test_unused_days_carry_over_up_to_six() -> None:
    used = {2025: 3}  # 9 unused, at most 6 carry
    balance = annual_leave_balance(2026, employee_type=PNS, used_by_year=used, rule=NO_CB)
    assert (balance.carried_over, balance.entitlement) == (6, 18)
    used = {2025: 8}  # 4 unused, all carry
    assert annual_leave_balance(2026, employee_type=PNS, used_by_year=used, rule=NO_CB).entitlement == 16


def test_two_untaken_years_allow_up_to_24() -> None:
    used = {2024: 0, 2025: 0}
    balance = annual_leave_balance(2026, employee_type=PNS, used_by_year=used, rule=NO_CB)
    assert (balance.carried_over, balance.entitlement) == (12, 24)


def test_two_year_rule_counts_what_cuti_bersama_left() -> None:
    # 2024: 10 cuti bersama → 2 left; 2025: 11 → 1 left; both untaken → 12 + 3
    balance = annual_leave_balance(2026, employee_type=PNS, used_by_year={2024: 0, 2025: 0}, rule=RULE)
    assert (balance.carried_over, balance.entitlement, balance.available) == (3, 15, 7)


def test_missing_history_is_never_read_as_unused() -> None:
    assert own_unused(2025, used_by_year={}, rule=NO_CB) is None
    assert carry_over_into(2026, employee_type=PNS, used_by_year={2024: 0}, rule=NO_CB) == 0
    # a recorded 2025 without a recorded 2024 gives the ordinary carry-over only
    assert carry_over_into(2026, employee_type=PNS, used_by_year={2025: 0}, rule=NO_CB) == 6


def test_pppk_carries_nothing_over() -> None:
    for kind in (EmployeeType.PPPK, EmployeeType.PPPK_PW):
        balance = annual_leave_balance(2026, employee_type=kind, used_by_year={2024: 0, 2025: 0}, rule=NO_CB)
        assert (balance.carried_over, balance.entitlement) == (0, 12)


def test_nip_facts() -> None:
    nip = "199710252021041187"  # born 25 Oct 1997, TMT April 2021, male
    assert tmt_from_nip(nip) == date(2021, 4, 1)
    assert gender_from_nip(nip) == "L"
    assert gender_from_nip("197904082004042112") == "P"
    assert service_years(nip, date(2026, 1, 5)) == 4
    assert service_years(nip, date(2026, 4, 1)) == 5
    assert tmt_from_nip("199710252021131187") is None
    assert service_years("12345", date(2026, 1, 1)) is None


histories = st.dictionaries(
    keys=st.integers(min_value=2018, max_value=2026),
    values=st.integers(min_value=-3, max_value=40),
    max_size=9,
)


@given(
    used=histories,
    year=st.integers(min_value=2020, max_value=2027),
    employee_type=st.sampled_from(list(EmployeeType)),
    cuti_bersama=st.integers(min_value=0, max_value=15),
    deducted=st.booleans(),
)
def test_balance_never_negative_and_never_above_the_maxima(
    used: dict[int, int], year: int, employee_type: EmployeeType, cuti_bersama: int, deducted: bool
) -> None:
    rule = AnnualLeaveRule(id="uji.cuti", basis=("pp",), clause="uji", cuti_bersama_deducted=deducted)
    balance = annual_leave_balance(
        year,
        employee_type=employee_type,
        used_by_year=used,
        rule=rule,
        cuti_bersama_days=lambda _: cuti_bersama,
    )
    assert balance.available >= 0
    assert balance.carried_over >= 0
    assert balance.available <= balance.entitlement
    assert rule.entitlement_days <= balance.entitlement <= rule.two_year_total_max
    two_untaken = used.get(year - 1) == 0 and used.get(year - 2) == 0
    if not two_untaken:
        assert balance.entitlement <= rule.carry_over_total_max
        assert balance.carried_over <= rule.carry_over_max_days
    if employee_type is not EmployeeType.PNS:
        assert balance.entitlement == rule.entitlement_days


@given(
    used=histories,
    year=st.integers(min_value=2020, max_value=2027),
    extra=st.integers(min_value=1, max_value=20),
)
def test_using_more_never_leaves_more(used: dict[int, int], year: int, extra: int) -> None:
    before = annual_leave_balance(year, employee_type=PNS, used_by_year=used, rule=RULE)
    more = dict(used)
    more[year] = max(0, more.get(year, 0)) + extra
    after = annual_leave_balance(year, employee_type=PNS, used_by_year=more, rule=RULE)
    assert after.available <= before.available
    assert after.entitlement == before.entitlement
