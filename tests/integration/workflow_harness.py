"""Runs ApprovalWorkflow on the real Temporal dev server and the real store, without HTTP in the way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from contracts.common import Citation, PolicyRef, RequestKind, Tier
from contracts.evaluation import ApprovalTimers, Evaluation, LeaveDebit, RouteStep, UnitDailyCap
from contracts.events import request_stream
from eventstore.db import create_pool
from eventstore.store import PostgresEventStore
from workflows.approval.models import ApprovalInput, RequesterRef, RequestSnapshot, workflow_id_for
from workflows.approval.workflow import ApprovalWorkflow
from workflows.worker import build_worker, connect_temporal

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
RECORD = os.environ.get("LENTUR_RECORD_HISTORIES") == "1"
POLICY = PolicyRef(id="test-pack", version="1", sha256="0" * 64)
REQUESTER = RequesterRef(
    nip="199505042021012163", name="Putri Teguh", region="kendari", opd_code="DISHUB", unit_code="DISHUB-U1"
)
APPROVERS = {
    Tier.UNIT_HEAD: ("197506201999081160", "Indah Sari"),
    Tier.OPD_HEAD: ("199503222018022159", "Yusuf Indah"),
    Tier.PPK: ("198609222008011156", "Citra Kurnia"),
}


def cite(rule: str) -> Citation:
    return Citation(pack_id="test-pack", pack_version="1", rule_id=rule, source="SE uji", clause="aturan uji")


def evaluation(
    tiers: tuple[Tier, ...] = (Tier.UNIT_HEAD, Tier.OPD_HEAD),
    *,
    remind_after: timedelta = timedelta(days=1),
    escalate_after: timedelta = timedelta(days=2),
    escalate_to: str = "next_tier",
    caps: tuple[UnitDailyCap, ...] = (),
    leave_debit: LeaveDebit | None = None,
    resubmit_from: str = "first_tier",
) -> Evaluation:
    return Evaluation(
        policy=POLICY,
        timezone="Asia/Makassar",
        outcome="allowed",
        route=tuple(
            RouteStep(tier=t, approver_nip=APPROVERS[t][0], approver_name=APPROVERS[t][1], citation=cite(t.value))
            for t in tiers
        ),
        caps=caps,
        leave_debit=leave_debit,
        timers=ApprovalTimers(remind_after=remind_after, escalate_after=escalate_after, escalate_to=escalate_to),  # type: ignore[arg-type]
        resubmit_from=resubmit_from,  # type: ignore[arg-type]
        citations=(cite("route"),),
    )


def offset_to(simulated: datetime) -> float:
    return (simulated - datetime.now(UTC)).total_seconds()


@dataclass
class Harness:
    client: Client
    store: PostgresEventStore
    pool: asyncpg.Pool
    task_queue: str
    worker_task: asyncio.Task[None] | None = None

    async def start_worker(self) -> None:
        worker: Worker = build_worker(self.client, self.task_queue, self.store, self.pool)
        self.worker_task = asyncio.create_task(worker.run())
        self._worker = worker

    async def stop_worker(self) -> None:
        if self.worker_task is not None:
            await self._worker.shutdown()
            with contextlib.suppress(Exception):
                await self.worker_task
            self.worker_task = None

    async def start(
        self,
        ev: Evaluation,
        *,
        dates: list[date] | None = None,
        simulated_now: datetime | None = None,
        kind: RequestKind = RequestKind.WFH,
        requester: RequesterRef = REQUESTER,
    ) -> tuple[WorkflowHandle[Any, Any], RequestSnapshot]:
        request_id = uuid.uuid4()
        inp = ApprovalInput(
            request_id=request_id,
            correlation_id=str(request_id),
            requester=requester,
            kind=kind,
            dates=dates or [date(2025, 12, 30)],
            body_sha256="b" * 64,
            evaluation=ev,
            clock_offset_seconds=offset_to(simulated_now or datetime(2025, 12, 22, 1, 0, tzinfo=UTC)),
            clock_mode="simulated",
        )
        handle = await self.client.start_workflow(
            ApprovalWorkflow.run, inp, id=workflow_id_for(request_id), task_queue=self.task_queue
        )
        snapshot = await handle.execute_update(ApprovalWorkflow.submitted, result_type=RequestSnapshot)
        return handle, snapshot

    async def events(self, handle: WorkflowHandle[Any, Any]) -> list[str]:
        request_id = handle.id.removeprefix("request-")
        return [e.type for e in await self.store.read_stream(request_stream(request_id))]

    async def wait_for_event(self, handle: WorkflowHandle[Any, Any], event_type: str, timeout: float = 30) -> list[str]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            types = await self.events(handle)
            if event_type in types:
                return types
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{event_type} not recorded; stream has {types}")
            await asyncio.sleep(0.2)


async def record_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With LENTUR_RECORD_HISTORIES=1, keep the history as a replay fixture (tests/fixtures/histories)."""
    if not RECORD:
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))


@contextlib.asynccontextmanager
async def harness(temporal_address: str, database_url: str) -> AsyncIterator[Harness]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    client = await connect_temporal(temporal_address)
    h = Harness(client=client, store=PostgresEventStore(pool), pool=pool, task_queue=f"wf-{uuid.uuid4().hex[:8]}")
    await h.start_worker()
    try:
        yield h
    finally:
        await h.stop_worker()
        await pool.close()
