"""Leave arithmetic (PP 11/2017 jo PP 17/2020; PP 49/2018 for PPPK) as pure functions.

Annual leave: 12 working days a year; cuti bersama days of the year are taken from it; unused days of the
year's own right carry into the next year (at most 6, so at most 18 in total), and a right left wholly
unused for two years in a row lets up to 24 days be taken. Carry-over only counts years the usage record
actually covers: a missing year is "unknown", never "unused" — we would rather under-grant than invent leave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from contracts.common import EmployeeType
from contracts.policy_pack import AnnualLeaveRule
from policy.calendar import count_cuti_bersama

CutiBersamaCount = Callable[[int], int]


@dataclass(frozen=True)
class AnnualLeaveBalance:
    year: int
    entitlement: int
    """The year's right plus carry-over, before cuti bersama and leave taken."""
    carried_over: int
    cuti_bersama: int
    used: int
    available: int


def own_unused(
    year: int,
    *,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
) -> int | None:
    """Days of `year`'s own right left unused, or None when the record does not cover that year."""
    if year not in used_by_year:
        return None
    deducted = cuti_bersama_days(year) if rule.deducts_cuti_bersama(year) else 0
    return max(0, rule.entitlement_days - deducted - max(0, used_by_year[year]))


def carry_over_into(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
) -> int:
    """Days carried into `year` from the two years before it."""
    if employee_type not in rule.carry_over_employee_types:
        return 0
    last = own_unused(year - 1, used_by_year=used_by_year, rule=rule, cuti_bersama_days=cuti_bersama_days)
    if last is None:
        return 0
    before = own_unused(year - 2, used_by_year=used_by_year, rule=rule, cuti_bersama_days=cuti_bersama_days)
    if before is not None and used_by_year.get(year - 1) == 0 and used_by_year.get(year - 2) == 0:
        # not taken for two years running: both years' remainders, up to 24 days including this year's 12
        return max(0, min(rule.two_year_total_max - rule.entitlement_days, last + before))
    return max(0, min(rule.carry_over_max_days, rule.carry_over_total_max - rule.entitlement_days, last))


def annual_leave_balance(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
) -> AnnualLeaveBalance:
    """What is left of `year`'s annual leave after cuti bersama and the leave already approved or reserved."""
    carried = carry_over_into(
        year,
        employee_type=employee_type,
        used_by_year=used_by_year,
        rule=rule,
        cuti_bersama_days=cuti_bersama_days,
    )
    entitlement = rule.entitlement_days + carried
    deducted = cuti_bersama_days(year) if rule.deducts_cuti_bersama(year) else 0
    used = max(0, used_by_year.get(year, 0))
    return AnnualLeaveBalance(
        year=year,
        entitlement=entitlement,
        carried_over=carried,
        cuti_bersama=deducted,
        used=used,
        available=max(0, entitlement - deducted - used),
    )


def tmt_from_nip(nip: str) -> date | None:
    """CPNS start (TMT) from NIP digits 9–14 (YYYYMM); None when they are not a month."""
    if len(nip) != 18 or not nip.isdigit():
        return None
    year, month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= month <= 12 or year < 1900:
        return None
    return date(year, month, 1)


def service_years(nip: str, on: date) -> int | None:
    """Completed years of service on `on`, counted from the TMT month in the NIP."""
    tmt = tmt_from_nip(nip)
    if tmt is None:
        return None
    years = on.year - tmt.year - (1 if (on.month, on.day) < (tmt.month, tmt.day) else 0)
    return max(0, years)


def gender_from_nip(nip: str) -> str | None:
    """'L' (digit 15 = 1) or 'P' (digit 15 = 2)."""
    if len(nip) != 18:
        return None
    return {"1": "L", "2": "P"}.get(nip[14])
