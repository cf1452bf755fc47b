"""Probe workflows for tests/integration/test_workflow_sandbox.py."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="ReadsTheWallClock")
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@workflow.defn(name="WhereItRuns")
class WhereItRuns:
    """Answers whether its code ran inside Temporal's sandbox."""

    @workflow.run
    async def run(self) -> bool:
        return workflow.unsafe.in_sandbox()
