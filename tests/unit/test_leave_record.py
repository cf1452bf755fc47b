"""The annual-leave record N-2/N-1/N (PP 11/2017 Pasal 311–314; Peraturan BKN 24/2017) as pure functions.

The cases follow the pattern of the regulation's own examples (a PNS who leaves days unused, two years unused,
a deferral by the PYBMC); the property test runs arbitrary sequences of requests, changes, deferrals and
cancellations against the same functions the evaluator and GET /api/leave/balance use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.common import EmployeeType
from contracts.policy_pack import AnnualLeaveRule
from policy.leave import (
    annual_leave_balance,
    has_year_of_service,
    leave_record,
    service_start_of,
    service_years_between,
)

RULE = AnnualLeaveRule(id="uji.cuti", basis=("pp",), clause="uji", cuti_bersama_deducted=False)
PNS = EmployeeType.PNS


def record(year: int, used: dict[int, int], **kw: object):  # type: ignore[no-untyped-def]
    return leave_record(year, employee_type=PNS, used_by_year=used, rule=RULE, **kw)  # type: ignore[arg-type]


def test_a_year_partly_used_carries_at_most_six_days_so_eighteen_in_all() -> None:
    # 2025: 4 days taken, 8 unused → 2026 may take 12 + 6 = 18 (Pasal 313 ayat 1; BKN 24/2017: at most 6 carried)
    r = record(2026, {2025: 4, 2026: 0})
    assert (r.n, r.n1, r.n2, r.deferred, r.available) == (12, 6, 0, 0, 18)
    # 9 days taken in 2025: the 3 left all carry
    assert record(2026, {2025: 9, 2026: 0}).n1 == 3


def test_two_years_wholly_unused_give_twenty_four_including_the_year() -> None:
    # nothing taken in 2024 and 2025 → 2026 may take up to 24 (Pasal 313 ayat 2): 12 + 6 (N-1) + 6 (N-2)
    r = record(2026, {2024: 0, 2025: 0, 2026: 5})
    assert (r.n, r.n1 + r.n2, r.used, r.available) == (12, 12, 5, 19)


def test_days_the_pybmc_deferred_are_usable_next_year_up_to_twenty_four() -> None:
    # 2025: 10 days requested and deferred by the PYBMC (none taken) → 2026: 12 + 10 deferred = 22 (Pasal 314)
    r = record(2026, {2025: 0, 2026: 0}, deferred_into={2026: 10})
    assert (r.n, r.n1, r.deferred, r.available) == (12, 2, 10, 24)
    # the deferred days count as taken in 2025: its 2 remaining days carry, the 10 never carry twice
    capped = record(2026, {2025: 0, 2026: 0}, deferred_into={2026: 14})
    assert capped.n1 == 0 and capped.n + capped.n1 + capped.deferred == 24
    # a year known only by its deferral is covered by the record: its unused days carry as usual
    assert record(2026, {2026: 0}, deferred_into={2026: 3}).n1 == 6
    # and they are no longer 2025's to take
    assert record(2025, {2025: 0}, deferred_into={2026: 10}).available == 2


def test_cuti_besar_takes_the_years_annual_leave() -> None:
    r = record(2026, {2025: 12, 2026: 0}, cuti_besar_years=frozenset({2026}))
    assert (r.n, r.available) == (0, 0)


def test_no_right_before_a_year_of_service() -> None:
    assert not has_year_of_service(date(2025, 8, 1), date(2026, 7, 31))
    assert has_year_of_service(date(2025, 8, 1), date(2026, 8, 1))
    assert record(2026, {}, eligible=False).available == 0


def test_service_start_comes_from_the_directory_else_the_nips_tmt() -> None:
    assert service_start_of("199001012015041101", date(2016, 3, 1), is_pns=True) == date(2016, 3, 1)
    assert service_start_of("199001012015041101", None, is_pns=True) == date(2015, 4, 1)
    assert service_start_of("199001012015041101", None, is_pns=False) is None
    assert service_years_between(date(2015, 4, 1), date(2020, 3, 31)) == 4


def test_pending_days_are_shown_apart_and_taken_all_the_same() -> None:
    r = record(2026, {2026: 5}, pending_by_year={2026: 2})
    assert (r.used, r.pending, r.available) == (3, 2, 7)


def test_a_day_taken_late_in_a_year_may_not_overdraw_the_next() -> None:
    # 2025: 6 taken, so 6 carried; 2026 already took 18. Another 2025 day would leave 2026 over-drawn.
    used = {2025: 6, 2026: 18}
    assert record(2025, used).available == 6
    assert annual_leave_balance(2025, employee_type=PNS, used_by_year=used, rule=RULE).available == 0


# --- property: no sequence over-draws a year or uses a deferred day twice ------------------------------------

YEARS = (2025, 2026, 2027)


@dataclass
class Ledger:
    """Rows as the projection keeps them: per request its year, days and state."""

    rows: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # id -> (year, days, state)
    deferred: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (year deferred into, days)

    def used(self) -> dict[int, int]:
        out = dict.fromkeys(YEARS, 0)
        for year, days, _ in self.rows.values():
            out[year] += days
        return out

    def deferred_into(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for year, days in self.deferred.values():
            out[year] = out.get(year, 0) + days
        return out

    def available(self, year: int, excluding: int | None = None) -> int:
        used = self.used()
        if excluding is not None and excluding in self.rows:
            used[excluding_year := self.rows[excluding][0]] -= self.rows[excluding][1]
            assert excluding_year in used
        return annual_leave_balance(
            year, employee_type=PNS, used_by_year=used, rule=RULE, deferred_into=self.deferred_into()
        ).available


operation = st.tuples(
    st.sampled_from(["request", "change", "defer", "cancel", "approve"]),
    st.sampled_from(YEARS),
    st.integers(min_value=1, max_value=14),
    st.integers(min_value=0, max_value=30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40))
def test_no_sequence_overdraws_a_year_or_uses_a_deferred_day_twice(ops: list[tuple[str, int, int, int]]) -> None:
    ledger = Ledger()
    next_id = 0
    for op, year, days, pick in ops:
        ids = sorted(ledger.rows)
        chosen = ids[pick % len(ids)] if ids else None
        if op == "request" and days <= ledger.available(year):
            ledger.rows[next_id] = (year, days, "reserved")
            next_id += 1
        elif op == "change" and chosen is not None and ledger.rows[chosen][2] == "reserved":
            own_year = ledger.rows[chosen][0]
            if days <= ledger.available(own_year, excluding=chosen):
                ledger.rows[chosen] = (own_year, days, "reserved")
        elif op == "defer" and chosen is not None and ledger.rows[chosen][2] == "reserved":
            own_year, held, _ = ledger.rows.pop(chosen)
            if own_year + 1 <= YEARS[-1]:
                ledger.deferred[chosen] = (own_year + 1, held)
        elif op == "cancel" and chosen is not None:
            del ledger.rows[chosen]
        elif op == "approve" and chosen is not None:
            ledger.rows[chosen] = (*ledger.rows[chosen][:2], "consumed")

        used, deferred = ledger.used(), ledger.deferred_into()
        for y in YEARS:
            r = leave_record(y, employee_type=PNS, used_by_year=used, rule=RULE, deferred_into=deferred)
            assert r.headroom >= 0, (y, r)
            # what leaves year y for y + 1 (carried or deferred) never exceeds what y left unused
            nxt = leave_record(y + 1, employee_type=PNS, used_by_year=used, rule=RULE, deferred_into=deferred)
            assert nxt.n1 + nxt.deferred <= max(0, r.n - used[y]) + r.n1 + r.n2 + r.deferred
            assert nxt.deferred <= deferred.get(y + 1, 0)
            assert nxt.n1 <= max(0, r.n - used[y] - deferred.get(y + 1, 0))
