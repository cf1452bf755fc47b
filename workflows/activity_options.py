"""How workflows call activities: one timeout and retry policy, and local activities where they pay off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.versions import patched

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
# Appends are short, idempotent (derived event ids, expected versions) and need no task-queue routing, so they
# run as local activities: the result is recorded as a marker instead of costing the server a scheduled task.
LOCAL_APPENDS_PATCH = "appends-as-local-activities"


async def call(name: str, arg: Any, result_type: type[Any]) -> Any:
    """Run an activity of this worker; local for histories started after the patch, remote for older ones."""
    if patched(LOCAL_APPENDS_PATCH):
        return await workflow.execute_local_activity(
            name, arg, result_type=result_type, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )
    return await workflow.execute_activity(
        name, arg, result_type=result_type, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )
