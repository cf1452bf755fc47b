"""The one clock. Everything that asks "what time is it" for a policy decision asks this object.

In simulated mode the clock starts at a chosen moment and runs forward in real time (a fixed offset), so
drills and tests can exercise the Dec 2025 windows while durations and Temporal timers still behave.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Literal


class Clock:
    def __init__(self, simulated_now: datetime | None = None, anchor: datetime | None = None) -> None:
        if simulated_now is not None and simulated_now.tzinfo is None:
            raise ValueError("simulated time must carry a UTC offset, e.g. 2025-12-22T09:00:00+08:00")
        real_anchor = anchor or datetime.now(UTC)
        self._offset = (simulated_now - real_anchor) if simulated_now is not None else timedelta(0)
        self._simulated = simulated_now is not None

    @property
    def simulated(self) -> bool:
        return self._simulated

    @property
    def mode(self) -> Literal["real", "simulated"]:
        return "simulated" if self._simulated else "real"

    @property
    def offset(self) -> timedelta:
        """Simulated minus real time; workflows add it to workflow.now()."""
        return self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), UTC) + self._offset
