"""The annual-leave record N-2/N-1/N of one person and year, from the leave rows the projection keeps.

The arithmetic is `policy.leave.leave_record`; this module only gathers its inputs (the person's pack, their
leave rows, years of cuti besar) and decides who may see it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from contracts.api import AnnualLeaveRecordOut, LeaveRecordOut
from contracts.common import EmployeeType, RequestKind
from contracts.directory import Person
from policy.calendar import local_date
from policy.leave import LeaveRecord, leave_record, service_start_of, service_years_between
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem


async def may_see_record(c: Container, me: Principal, person: Person) -> bool:
    """The person, the approvers on their route, and the admin and inspectors of their region."""
    if me.nip == person.nip:
        return True
    if me.region == person.region and (me.is_admin or me.is_inspector):
        return True
    directory = await c.reads.directory()
    posts = (
        directory.unit_head(person.region, person.unit_code),
        directory.opd_head(person.region, person.opd_code),
        directory.ppk(person.region),
    )
    acting_for = me.person.acting_for  # a Plt/Plh decides for the holder of the post
    for post in posts:
        if post is not None and {me.nip, acting_for} & {post.nip, post.assignee_nip}:
            return True
    approvers = await c.pool.fetch(
        "SELECT DISTINCT t.assignee_nip, t.escalated_to FROM rm_tasks t JOIN rm_requests r USING (request_id) "
        "WHERE r.requester_nip = $1",
        person.nip,
    )
    return any(me.nip in (a["assignee_nip"], a["escalated_to"]) for a in approvers)


async def record_of(c: Container, person: Person, year: int) -> LeaveRecord:
    packs = await c.policy.packs()
    loaded = packs.for_region(person.region) or packs.baseline
    rule = loaded.pack.leave.annual
    rows = await c.pool.fetch("SELECT year, days, state FROM rm_leave WHERE nip = $1", person.nip)
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
    besar = await c.pool.fetch(
        "SELECT dates FROM rm_requests WHERE requester_nip = $1 AND kind = $2 AND status IN ('APPROVED', 'PENDING')",
        person.nip,
        RequestKind.CUTI_BESAR.value,
    )
    cuti_besar_years = frozenset(d.year for r in besar for d in r["dates"])
    annual_rule = next((k for k in loaded.pack.leave.kinds if k.kind == RequestKind.CUTI_TAHUNAN), None)
    needed = annual_rule.min_service_years if annual_rule is not None else 0
    start = service_start_of(
        person.nip, getattr(person, "service_start", None), is_pns=person.employee_type == EmployeeType.PNS
    )
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


async def leave_balance(c: Container, me: Principal, nip: str | None, year: int | None) -> LeaveRecordOut:
    person = me.person if nip is None or nip == me.nip else await c.reads.person(nip)
    if person is None:
        raise Problem(404, "person_not_found", "Pegawai tidak ada di direktori.")
    if not await may_see_record(c, me, person):
        raise Problem(
            403, "forbidden", "Catatan cuti hanya untuk pegawai itu, atasannya, admin dan inspektur daerahnya."
        )
    packs = await c.policy.packs()
    zone = packs.timezone_for(person.region)
    the_year = year if year is not None else local_date(c.clock.now(), zone).year
    record = await record_of(c, person, the_year)
    return LeaveRecordOut(nip=person.nip, year=the_year, annual=annual_out(record))


def annual_out(record: LeaveRecord) -> AnnualLeaveRecordOut:
    return AnnualLeaveRecordOut(
        n=record.n,
        n1=record.n1,
        n2=record.n2,
        deferred=record.deferred,
        used=record.used,
        pending=record.pending,
        available=record.available,
    )


async def leave_record_for(c: Container, nip: str, kind: str, dates: list[date]) -> AnnualLeaveRecordOut | None:
    """The requester's annual-leave record for the year of the request's first day (leave kinds only)."""
    if not RequestKind(kind).is_leave or not dates:
        return None
    person = await c.reads.person(nip)
    if person is None:
        return None
    return annual_out(await record_of(c, person, min(dates).year))
