"""The Temporal worker: built once with its clients, runs the approval workflows and their activities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import PollerBehaviorAutoscaling, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from eventstore.store import PostgresEventStore
from workflows.approval.activities import ApprovalActivities
from workflows.approval.workflow import ApprovalWorkflow
from workflows.compliance.workflow import ComplianceWorkflow

WORKFLOWS = [ApprovalWorkflow, ComplianceWorkflow]

# Our pure modules are deterministic; passing them through keeps the sandbox from re-importing pydantic
# models for every workflow run (a large start-up cost).
PASSTHROUGH_MODULES = (
    "contracts",
    "policy",
    "workflows.approval.models",
    "workflows.compliance.models",
    "workflows.compliance.schedule",
    "workflows.activity_options",
    "pydantic",
)


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


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
) -> Worker:
    activities = ApprovalActivities(store, pool)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[activities.append_events, activities.apply_quotas, activities.escalation_target],
        workflow_runner=sandbox_runner(),
        max_concurrent_activities=max_concurrent,
        max_concurrent_workflow_tasks=max_concurrent,
        max_cached_workflows=max_cached_workflows,
        # A new request's first workflow task comes from the shared (non-sticky) queue. With the SDK's default of
        # five fixed pollers, one of them non-sticky, a burst of submissions queued up behind a single poll
        # (seconds at concurrency 20); pollers that scale with the backlog remove that queue.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(minimum=2, maximum=50, initial=10),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(minimum=1, maximum=20, initial=4),
        nonsticky_to_sticky_poll_ratio=0.5,
    )
