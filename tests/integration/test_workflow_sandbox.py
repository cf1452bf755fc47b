"""The worker's three ways of running workflow code, against a real Temporal dev server.

CI runs workflow code under "strict", where a non-deterministic call fails the workflow task; "shared" would
let the same call through, and so does "off", the production worker's default, which runs no sandbox at all.
This is the difference CI relies on.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

from deploy.infra import InfraAddresses
from runtime.settings import SandboxMode
from tests.integration.sandbox_probe import ReadsTheWallClock, WhereItRuns
from workflows.worker import workflow_runner


async def run_probe(infra: InfraAddresses, mode: SandboxMode, probe: Any = ReadsTheWallClock) -> Any:
    client = await Client.connect(infra.temporal_address)
    task_queue = f"sandbox-{mode}-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[probe],
        workflow_runner=workflow_runner(mode),
        # Fail the workflow, instead of retrying its task for ever, when the sandbox refuses a call.
        workflow_failure_exception_types=[RestrictedWorkflowAccessError],
    ):
        return await client.execute_workflow(probe.run, id=f"probe-{uuid.uuid4()}", task_queue=task_queue)


async def test_strict_mode_fails_a_workflow_that_reads_the_wall_clock(infra: InfraAddresses) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await run_probe(infra, "strict")
    assert "datetime.datetime.now" in str(failed.value.cause)


async def test_shared_mode_lets_the_same_call_through(infra: InfraAddresses) -> None:
    assert await run_probe(infra, "shared")


async def test_off_mode_runs_workflow_code_outside_the_sandbox(infra: InfraAddresses) -> None:
    assert await run_probe(infra, "strict", WhereItRuns) is True
    assert await run_probe(infra, "shared", WhereItRuns) is True
    assert await run_probe(infra, "off", WhereItRuns) is False
    assert await run_probe(infra, "off")  # the wall clock goes through, as in shared mode
