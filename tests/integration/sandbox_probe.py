"""A workflow that reads the wall clock, which no workflow may do (tests/integration/test_workflow_sandbox.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="ReadsTheWallClock")
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()
