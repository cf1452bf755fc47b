"""What the portal shows beside a leave request: the considerations given so far, and the date pickers of a
perubahan; the N-2/N-1/N record comes from services.leave_record."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from policy.calendar import working_days
from services.leave_record.record import leave_record_for

__all__ = ["change_dates", "considerations", "leave_record_for"]

LONGEST_CHANGE_DAYS = 92


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
