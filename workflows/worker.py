"""The Temporal worker: built once with its clients, runs the approval workflows and their activities."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from eventstore.store import PostgresEventStore
from runtime.settings import SandboxMode
from workflows.approval.activities import ApprovalActivities
from workflows.approval.workflow import ApprovalWorkflow, ApprovalWorkflowWithEarlierHistories
from workflows.compliance.workflow import ComplianceWorkflow

WORKFLOWS = [ApprovalWorkflow, ApprovalWorkflowWithEarlierHistories, ComplianceWorkflow]

# Our pure modules are deterministic; passing them through keeps the sandbox from re-importing pydantic
# models for every workflow run (a large start-up cost).
PASSTHROUGH_MODULES = (
    "contracts",
    "policy",
    "workflows.approval.models",
    "workflows.compliance.models",
    "workflows.compliance.schedule",
    "workflows.activity_options",
    "workflows.versions",
    "pydantic",
)


@contextlib.contextmanager
def sandbox_bytecode(workflows: Sequence[type] = WORKFLOWS, *, mode: SandboxMode = "strict") -> Iterator[Path | None]:
    """Bytecode for the modules the sandbox imports again for every workflow it starts (none without one).

    That re-import is the sandbox's isolation, and it is cheap when the loader finds the modules' bytecode.
    Where writing bytecode is switched off (PYTHONDONTWRITEBYTECODE, common in containers and CI) and none was
    installed, each new workflow compiled the workflow modules from source again: 18% of the worker's CPU at
    concurrency 20. The worker then keeps bytecode of its own under a private prefix for as long as it runs.
    An install that ships bytecode (a wheel installed by pip) is used as it is.
    """
    if mode == "off":
        yield None
        return
    sources = [getattr(sys.modules[w.__module__], "__file__", None) for w in workflows]
    shipped = all(s is not None and Path(importlib.util.cache_from_source(s)).exists() for s in sources)
    if not sys.dont_write_bytecode or shipped or sys.pycache_prefix is not None:
        yield None
        return
    prefix = Path(tempfile.mkdtemp(prefix="lentur-worker-bytecode-"))
    sys.pycache_prefix, sys.dont_write_bytecode = str(prefix), False
    try:
        yield prefix
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = None, True
        shutil.rmtree(prefix, ignore_errors=True)


# A new request's first workflow task comes from the shared (non-sticky) queue. With the SDK's default of five
# fixed pollers, one of them non-sticky, a burst of submissions queued up behind a single poll (seconds at
# concurrency 20). Ten fixed pollers, half of them non-sticky, remove that queue; pollers that scale with the
# backlog (up to 50) did too, but their poll churn cost the Temporal server a seventh more CPU per request.
# Activities all run locally, so activity pollers only wait.
POLLERS: dict[str, Any] = {
    "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(10),
    "activity_task_poller_behavior": PollerBehaviorSimpleMaximum(2),
    "nonsticky_to_sticky_poll_ratio": 0.5,
}


def workflow_runner(mode: SandboxMode = "strict") -> WorkflowRunner:
    """How the worker runs workflow code: in Temporal's sandbox (two modes) or without it.

    strict: every workflow run imports the workflow modules afresh (only the pure modules above are passed
    through), and a non-deterministic call in them (the clock, random, I/O) raises. CI runs every workflow test,
    the end-to-end stack and the replay of every recorded history this way, so such a call fails the build.
    shared: every module is imported once and shared by all runs. A new workflow no longer re-imports the
    workflow modules (measured: about a third of the worker's CPU per approval at concurrency 20), but a call
    the strict mode would refuse goes through, so workflow code must pass strict first (CI's job) and keep no
    module-level state of its own.
    off: no sandbox at all. With every module passed through, the shared sandbox no longer refuses anything
    (tests/integration/test_workflow_sandbox.py); what it still costs is its own machinery on every
    activation: each one is compiled and run with `exec` under a swapped import hook, and so is every
    payload's serialization-context lookup. The guarantees are the shared mode's: strict in CI.
    """
    if mode == "off":
        return UnsandboxedWorkflowRunner()
    restrictions = SandboxRestrictions.default
    if mode == "shared":
        return SandboxedWorkflowRunner(restrictions=restrictions.with_passthrough_all_modules())
    return SandboxedWorkflowRunner(restrictions=restrictions.with_passthrough_modules(*PASSTHROUGH_MODULES))


async def connect_temporal(address: str, namespace: str = "default", *, interceptors: Sequence[Any] = ()) -> Client:
    # Client interceptors that are also worker interceptors (tracing, metrics) reach the worker built on it.
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, interceptors=list(interceptors)
    )


def build_worker(
    client: Client,
    task_queue: str,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    *,
    max_concurrent: int = 200,
    max_cached_workflows: int = 1000,
    sandbox: SandboxMode = "strict",
) -> Worker:
    activities = ApprovalActivities(store, pool)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[activities.append_events, activities.apply_quotas, activities.escalation_target],
        workflow_runner=workflow_runner(sandbox),
        max_concurrent_activities=max_concurrent,
        max_concurrent_workflow_tasks=max_concurrent,
        max_cached_workflows=max_cached_workflows,
        **POLLERS,
    )
