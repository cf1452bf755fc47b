"""Leave arithmetic (PP 11/2017 jo PP 17/2020; PP 49/2018 for PPPK) as pure functions.

Annual leave: 12 working days a year; cuti bersama days of the year are taken from it; unused days of the
year's own right carry into the next year (at most 6, so at most 18 in total), and a right left wholly
unused for two years in a row lets up to 24 days be taken. Carry-over only counts years the usage record
actually covers: a missing year is "unknown", never "unused" — we would rather under-grant than invent leave.

Days a PYBMC deferred (ditangguhkan) are usable the next year, up to 24 including that year's right; for
carry-over they count as taken in the year they were deferred from, so a deferred day is never also carried.
A year with cuti besar has no annual leave of its own. `leave_record` gives the form's N-2/N-1/N record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
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
    deferred_into: Mapping[int, int] | None = None,
    cuti_besar_years: AbstractSet[int] = frozenset(),
) -> int | None:
    """Days of `year`'s own right left unused, or None when the record does not cover that year.

    Days deferred out of `year` (into `year + 1`) count as taken here: they live on as deferred days only.
    """
    deferred_out = max(0, (deferred_into or {}).get(year + 1, 0))
    if year not in used_by_year and not deferred_out:
        return None  # a deferral out of the year is a fact about it: the record covers that year
    if year in cuti_besar_years:
        return 0
    deducted = cuti_bersama_days(year) if rule.deducts_cuti_bersama(year) else 0
    taken = max(0, used_by_year.get(year, 0)) + deferred_out
    return max(0, rule.entitlement_days - deducted - taken)


def carried_by_year(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
    deferred_into: Mapping[int, int] | None = None,
    cuti_besar_years: AbstractSet[int] = frozenset(),
) -> tuple[int, int]:
    """Days carried into `year` as (from N-1, from N-2)."""
    if employee_type not in rule.carry_over_employee_types:
        return 0, 0
    deferred = deferred_into or {}

    def unused(y: int) -> int | None:
        return own_unused(
            y,
            used_by_year=used_by_year,
            rule=rule,
            cuti_bersama_days=cuti_bersama_days,
            deferred_into=deferred,
            cuti_besar_years=cuti_besar_years,
        )

    def untouched(y: int) -> bool:
        return used_by_year.get(y) == 0 and not deferred.get(y + 1) and y not in cuti_besar_years

    last = unused(year - 1)
    if last is None:
        return 0, 0
    before = unused(year - 2)
    if before is not None and untouched(year - 1) and untouched(year - 2):
        # not taken for two years running: both years' remainders, up to 24 days including this year's 12
        room = max(0, rule.two_year_total_max - rule.entitlement_days)
        n1 = min(room, last)
        return n1, max(0, min(room - n1, before))
    return max(0, min(rule.carry_over_max_days, rule.carry_over_total_max - rule.entitlement_days, last)), 0


def carry_over_into(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
    deferred_into: Mapping[int, int] | None = None,
    cuti_besar_years: AbstractSet[int] = frozenset(),
) -> int:
    """Days carried into `year` from the two years before it."""
    n1, n2 = carried_by_year(
        year,
        employee_type=employee_type,
        used_by_year=used_by_year,
        rule=rule,
        cuti_bersama_days=cuti_bersama_days,
        deferred_into=deferred_into,
        cuti_besar_years=cuti_besar_years,
    )
    return n1 + n2


def deferred_usable(
    year: int, *, own_right: int, carried: int, deferred_into: Mapping[int, int], rule: AnnualLeaveRule
) -> int:
    """Days deferred into `year`, up to the 24 (two_year_total_max) including the year's own right."""
    room = max(0, rule.two_year_total_max - own_right - carried)
    return max(0, min(room, deferred_into.get(year, 0)))


def annual_leave_balance(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
    deferred_into: Mapping[int, int] | None = None,
    cuti_besar_years: AbstractSet[int] = frozenset(),
    eligible: bool = True,
) -> AnnualLeaveBalance:
    """What is left of `year`'s annual leave after cuti bersama and the leave already approved or reserved."""
    record = leave_record(
        year,
        employee_type=employee_type,
        used_by_year=used_by_year,
        rule=rule,
        cuti_bersama_days=cuti_bersama_days,
        deferred_into=deferred_into,
        cuti_besar_years=cuti_besar_years,
        eligible=eligible,
    )
    later_years = sorted(y for y in used_by_year if y > year)

    def keeps_later_years_whole(days: int) -> bool:
        # Days taken now shrink what this year leaves to later ones (and may end a two-year run unused):
        # no later year that already has leave on its books may be left over-drawn.
        taken = {**used_by_year, year: used_by_year.get(year, 0) + days}
        return all(
            leave_record(
                later,
                employee_type=employee_type,
                used_by_year=taken,
                rule=rule,
                cuti_bersama_days=cuti_bersama_days,
                deferred_into=deferred_into,
                cuti_besar_years=cuti_besar_years,
                eligible=eligible,
            ).headroom
            >= 0
            for later in later_years
        )

    available = record.available
    while available > 0 and later_years and not keeps_later_years_whole(available):
        available -= 1
    return AnnualLeaveBalance(
        year=year,
        entitlement=record.own_right + record.n1 + record.n2 + record.deferred,
        carried_over=record.n1 + record.n2,
        cuti_bersama=record.cuti_bersama,
        used=record.used + record.pending,
        available=available,
    )


@dataclass(frozen=True)
class LeaveRecord:
    """The annual-leave record of one year (the form's N-2/N-1/N), in working days."""

    year: int
    own_right: int
    """12 with a year of service, 0 without or in a year of cuti besar (before cuti bersama)."""
    cuti_bersama: int
    n: int
    """this year's own right after cuti bersama"""
    n1: int
    n2: int
    deferred: int
    used: int
    pending: int
    available: int
    deferred_out: int = 0
    """days of this year the PYBMC deferred into the next: no longer this year's to take"""

    @property
    def headroom(self) -> int:
        """What is left before clamping at zero: negative only if the record were over-drawn."""
        return self.n + self.n1 + self.n2 + self.deferred - self.used - self.pending - self.deferred_out


def leave_record(
    year: int,
    *,
    employee_type: EmployeeType,
    used_by_year: Mapping[int, int],
    rule: AnnualLeaveRule,
    cuti_bersama_days: CutiBersamaCount = count_cuti_bersama,
    deferred_into: Mapping[int, int] | None = None,
    cuti_besar_years: AbstractSet[int] = frozenset(),
    pending_by_year: Mapping[int, int] | None = None,
    eligible: bool = True,
) -> LeaveRecord:
    """N, N-1, N-2 and deferred days of `year`; `used_by_year` counts granted and pending days together and
    `pending_by_year` says how many of them are still in flight (shown apart, taken all the same)."""
    deferred_map = deferred_into or {}
    own_right = rule.entitlement_days if eligible and year not in cuti_besar_years else 0
    n1, n2 = carried_by_year(
        year,
        employee_type=employee_type,
        used_by_year=used_by_year,
        rule=rule,
        cuti_bersama_days=cuti_bersama_days,
        deferred_into=deferred_map,
        cuti_besar_years=cuti_besar_years,
    )
    deferred = deferred_usable(year, own_right=own_right, carried=n1 + n2, deferred_into=deferred_map, rule=rule)
    deducted = min(own_right, cuti_bersama_days(year)) if rule.deducts_cuti_bersama(year) and own_right else 0
    taken = max(0, used_by_year.get(year, 0))
    pending = min(taken, max(0, (pending_by_year or {}).get(year, 0)))
    deferred_out = max(0, deferred_map.get(year + 1, 0))
    return LeaveRecord(
        year=year,
        own_right=own_right,
        cuti_bersama=deducted,
        n=own_right - deducted,
        n1=n1,
        n2=n2,
        deferred=deferred,
        used=taken - pending,
        pending=pending,
        available=max(0, own_right - deducted + n1 + n2 + deferred - taken - deferred_out),
        deferred_out=deferred_out,
    )


def has_year_of_service(start: date | None, on: date) -> bool:
    """Annual leave needs one year of continuous service (PP 11/2017): from `start` to `on`."""
    if start is None:
        return True  # unknown start (a PPPK number): the directory is trusted, as before
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = date(start.year + 1, 3, 1)
    return on >= anniversary


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


def service_start_of(nip: str, service_start: date | None, *, is_pns: bool) -> date | None:
    """The start of continuous service: the directory's `service_start`, else the NIP's TMT for a PNS."""
    if service_start is not None:
        return service_start
    return tmt_from_nip(nip) if is_pns else None


def service_years_between(start: date, on: date) -> int:
    """Completed years of service from `start` to `on`."""
    return max(0, on.year - start.year - (1 if (on.month, on.day) < (start.month, start.day) else 0))
