"""What the evaluator is told about current usage, kept incrementally while the log is folded.

The live service answers `ReadModels.usage_for` from the approval read models, which
`services.approvals.state.ApprovalState` folds from the log. This ledger keeps the same facts with the same
rules — approved rows per unit and day (`rm_unit_day`), the requester's own approved and pending requests
(`rm_requests`), annual-leave rows per person, year and request (`rm_leave`) — but indexed for the
questions the evaluator asks, so 100k requests can be replayed without a scan per request. The simulator
keeps one ledger for what was recorded and one for the world the draft would have made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from contracts.common import RequestKind
from contracts.evaluation import UsageSnapshot

OPEN = ("PENDING", "RETURNED")
FLEXIBLE = (RequestKind.WFH, RequestKind.WFA)
NOTHING_USED = UsageSnapshot()


@dataclass(slots=True)
class LedgerRow:
    request_id: str
    nip: str
    region: str
    unit_code: str
    kind: RequestKind
    dates: tuple[date, ...]
    status: str = "PENDING"


@dataclass
class UsageLedger:
    rows: dict[str, LedgerRow] = field(default_factory=dict)
    by_nip: dict[str, list[LedgerRow]] = field(default_factory=lambda: defaultdict(list))
    # rm_unit_day: approved rows (every kind) by (region, unit, day)
    unit_days: dict[tuple[str, str, date], dict[str, RequestKind]] = field(default_factory=lambda: defaultdict(dict))
    # rm_leave: nip -> (year, request_id) -> days
    leave: dict[str, dict[tuple[int, str], int]] = field(default_factory=lambda: defaultdict(dict))
    # holders released from their post by an approved CLTN, by (region, day)
    on_cltn: dict[tuple[str, date], set[str]] = field(default_factory=lambda: defaultdict(set))

    # -- the request lifecycle ----------------------------------------------------------------------------

    def submitted(
        self, request_id: str, *, nip: str, region: str, unit_code: str, kind: RequestKind, dates: tuple[date, ...]
    ) -> None:
        old = self.rows.get(request_id)
        if old is not None:
            self.by_nip[old.nip].remove(old)
        row = LedgerRow(request_id, nip, region, unit_code, kind, dates)
        self.rows[request_id] = row
        self.by_nip[nip].append(row)

    def status(self, request_id: str) -> str | None:
        row = self.rows.get(request_id)
        return row.status if row is not None else None

    def returned(self, request_id: str) -> None:
        row = self.rows.get(request_id)
        if row is not None:
            row.status = "RETURNED"

    def resubmitted(self, request_id: str, dates: tuple[date, ...]) -> None:
        row = self.rows.get(request_id)
        if row is not None:
            row.status = "PENDING"
            row.dates = dates

    def approved(self, request_id: str) -> None:
        row = self.rows.get(request_id)
        if row is None:
            return
        row.status = "APPROVED"
        for day in row.dates:
            self.unit_days[(row.region, row.unit_code, day)][request_id] = row.kind
            if row.kind == RequestKind.CLTN:
                self.on_cltn[(row.region, day)].add(row.nip)

    def finished(self, request_id: str, status: str) -> None:
        """Rejected, cancelled or expired: the request no longer holds its days."""
        row = self.rows.get(request_id)
        if row is None:
            return
        row.status = status
        for day in row.dates:
            holders = self.unit_days.get((row.region, row.unit_code, day))
            if holders is not None:
                holders.pop(request_id, None)
            if row.kind == RequestKind.CLTN:
                self.on_cltn.get((row.region, day), set()).discard(row.nip)

    # -- annual leave (rm_leave rows keyed by person, year and request) -----------------------------------

    def leave_reserved(self, nip: str, year: int, request_id: str, days: int) -> None:
        held = self.leave[nip].get((year, request_id), 0)
        self.leave[nip][(year, request_id)] = held + days

    def leave_released(self, nip: str, year: int, request_id: str, days: int | None = None) -> None:
        """Give back `days` of a request's reservation (all of it when `days` is None), as rm_leave does."""
        held = self.leave[nip].get((year, request_id), 0)
        if days is not None and held > days:
            self.leave[nip][(year, request_id)] = held - days
        else:
            self.leave[nip].pop((year, request_id), None)

    def leave_held_by(self, request_id: str, nip: str) -> list[tuple[int, int]]:
        return [(year, days) for (year, rid), days in self.leave.get(nip, {}).items() if rid == request_id]

    # -- what the evaluator is told -----------------------------------------------------------------------

    def usage(
        self, *, nip: str, region: str, unit_code: str, dates: tuple[date, ...], excluding: str | None = None
    ) -> UsageSnapshot:
        """As `ReadModels.usage_for`: `excluding` leaves out the request being resubmitted."""
        unit: dict[date, int] = {}
        for day in set(dates):
            holders = self.unit_days.get((region, unit_code, day))
            if holders:
                flexible = sum(1 for kind in holders.values() if kind in FLEXIBLE)
                if flexible:
                    unit[day] = flexible
        approved: dict[date, RequestKind] = {}
        pending: set[date] = set()
        besar: set[int] = set()
        for row in self.by_nip.get(nip, ()):
            if row.request_id == excluding or row.kind.is_travel_abroad:
                continue  # as usage_for: a trip abroad holds no working arrangement
            if row.kind == RequestKind.CUTI_BESAR and (row.status == "APPROVED" or row.status in OPEN):
                besar.update(day.year for day in row.dates)
            if row.status == "APPROVED":
                for day in row.dates:
                    approved[day] = row.kind
            elif row.status in OPEN and row.kind in FLEXIBLE:
                pending.update(row.dates)
        used: dict[int, int] = {}
        for (year, rid), days in self.leave.get(nip, {}).items():
            if rid != excluding:
                used[year] = used.get(year, 0) + days
        cltn = {holder for day in set(dates) for holder in self.on_cltn.get((region, day), ())} - {nip}
        if not (unit or approved or pending or used or besar or cltn):
            return NOTHING_USED
        return UsageSnapshot(
            unit_flexible_by_date=unit,
            own_approved_dates=approved,
            own_pending_flexible_dates=frozenset(pending),
            annual_leave_used=used,
            cuti_besar_years=frozenset(besar),
            on_cltn=frozenset(cltn),
        )

    def away(self, region: str, unit_code: str, day: date) -> int:
        """Approved people of the unit not in the office that day (flexible work and leave)."""
        return len(self.unit_days.get((region, unit_code, day), ()))
