"""The annual-leave record N-2/N-1/N of one person and year, from the leave rows the projection keeps.

The arithmetic is `policy.leave.leave_record`, its inputs are gathered in `store.py` (shared with the leave
form); this module decides who may see it.
"""

from __future__ import annotations

from datetime import date

from contracts.api import AnnualLeaveRecordOut, LeaveRecordOut
from contracts.common import RequestKind
from contracts.directory import Person
from policy.calendar import local_date
from policy.leave import LeaveRecord
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem
from services.leave_record.store import stored_leave_record


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
    return await stored_leave_record(c.pool, loaded.pack, person, year)


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
