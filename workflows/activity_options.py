"""How workflows call activities: the same timeout and retry everywhere."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
