"""The annual-leave record of one person and year as the store holds it: the leave rows the projection keeps,
the years of cuti besar, and the pack's rule, put through `policy.leave.leave_record`.

Both GET /api/leave/balance and the leave form (section V) read it here, so they show the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from uuid import UUID

import asyncpg

from contracts.common import EmployeeType, RequestKind
from contracts.directory import Person
from contracts.policy_pack import PolicyPack
from policy.leave import LeaveRecord, leave_record, service_start_of, service_years_between


async def stored_leave_record(
    pool: asyncpg.Pool, pack: PolicyPack, person: Person, year: int, *, excluding: UUID | None = None
) -> LeaveRecord:
    """`person`'s record for `year` under `pack`; `excluding` leaves one request's own days out (the form
    records the leave as it stood before the request it is the form of)."""
    rule = pack.leave.annual
    rows = await pool.fetch(
        "SELECT year, days, state FROM rm_leave WHERE nip = $1 AND request_id IS DISTINCT FROM $2",
        person.nip,
        excluding,
    )
    used: dict[int, int] = defaultdict(int)
    pending: dict[int, int] = defaultdict(int)
    deferred: dict[int, int] = defaultdict(int)
    for r in rows:
        if r["state"] == "deferred":
            deferred[int(r["year"])] += int(r["days"])
        else:
            used[int(r["year"])] += int(r["days"])
            if r["state"] == "reserved":
                pending[int(r["year"])] += int(r["days"])
    besar = await pool.fetch(
        "SELECT dates FROM rm_requests WHERE requester_nip = $1 AND kind = $2 AND status IN ('APPROVED', 'PENDING')",
        person.nip,
        RequestKind.CUTI_BESAR.value,
    )
    cuti_besar_years = frozenset(d.year for r in besar for d in r["dates"])
    annual_rule = next((k for k in pack.leave.kinds if k.kind == RequestKind.CUTI_TAHUNAN), None)
    needed = annual_rule.min_service_years if annual_rule is not None else 0
    start = service_start_of(person.nip, person.service_start, is_pns=person.employee_type == EmployeeType.PNS)
    eligible = start is None or service_years_between(start, date(year, 12, 31)) >= needed
    # Years before the first leave row are treated as covered only where the record holds them: the pure
    # function counts a missing year as unknown (no carry-over), never as unused.
    return leave_record(
        year,
        employee_type=person.employee_type,
        used_by_year=dict(used),
        rule=rule,
        deferred_into=dict(deferred),
        cuti_besar_years=cuti_besar_years,
        pending_by_year=dict(pending),
        eligible=eligible,
    )
