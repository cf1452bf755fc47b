"""The ceiling: a bare Temporal workflow of the same shape as a two-tier approval (start, 2 updates, result)
with no store, no NATS and no HTTP. Its worker runs as a process of its own (deploy/bench/bare_worker.py),
like Lentur's."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BareApproval")
class BareApproval:
    def __init__(self) -> None:
        self.decisions = 0

    @workflow.run
    async def run(self, tiers: int) -> str:
        await workflow.wait_condition(lambda: self.decisions >= tiers)
        return "APPROVED"

    @workflow.update
    async def decide(self, actor: str) -> int:
        self.decisions += 1
        return self.decisions
