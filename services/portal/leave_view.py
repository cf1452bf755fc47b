"""What the portal shows beside a leave request: the N-2/N-1/N record and the considerations given so far."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from contracts.api import AnnualLeaveRecordOut
from contracts.common import RequestKind
from policy.calendar import working_days
from services.container import Container
from services.leave_record.record import annual_out, record_of

LONGEST_CHANGE_DAYS = 92


async def leave_record_for(c: Container, nip: str, kind: str, dates: list[date]) -> AnnualLeaveRecordOut | None:
    """The requester's annual-leave record for the year of the request's first day (leave kinds only)."""
    if not RequestKind(kind).is_leave or not dates:
        return None
    person = await c.reads.person(nip)
    if person is None:
        return None
    return annual_out(await record_of(c, person, min(dates).year))


def considerations(row: Any) -> list[dict[str, Any]]:
    """The decisions of the request's current round, in order (what the next tier weighs)."""
    if row is None:
        return []
    current = row["round"]
    return [d for d in (row["decisions"] or []) if d.get("round") == current]


def change_dates(first: str, last: str) -> list[date] | None:
    """The working days from `first` to `last` (the date pickers of a perubahan); None when they do not parse."""
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    except ValueError:
        return None
    if end < start or (end - start).days > LONGEST_CHANGE_DAYS:
        return None
    return working_days(start + timedelta(days=i) for i in range((end - start).days + 1))
