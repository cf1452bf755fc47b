"""`lentur reconcile`: requests whose approval workflow and event store disagree, after a restore (and repair).

It reads the stack of the `lentur up` in `.lentur/` (`stack.json`), or on a cluster, where there is none,
`LENTUR_DATABASE_URL` and `LENTUR_TEMPORAL_ADDRESS` (and `LENTUR_TEMPORAL_NAMESPACE`).

Two databases hold a request: the event store (the audit log) and Temporal (the workflow waiting for the
next decision). Restored from copies taken at slightly different moments, they can disagree
(docs/BACKUP.md, "After a restore: lentur reconcile"). For every request the store has in flight and every
running approval workflow, the workflow's version of the request's stream (its `state` query) is compared
with the stream in the store:

- ok               both at the same version;
- store_ahead      the store holds events the workflow never heard of (listed); the next approver is refused;
- workflow_missing the store has the request in flight, Temporal has no workflow for it;
- workflow_ahead   the workflow wrote events the store does not hold: a gap in the audit log.

A repair re-sends what the store says happened, as the Update the API would have sent: a decision
(DecisionRecorded) or a cancellation (RequestCancelled). The workflow derives the same event ids
(stream + version) and its append activity answers with what is stored (workflows/approval/activities.py),
so nothing is appended twice and the workflow goes on from the store's state. Nothing is written to the
store directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import DecisionKind
from contracts.events import request_stream
from deploy.backup.take import IN_FLIGHT, stack_in
from eventstore.db import create_pool
from runtime.settings import Settings
from workflows.approval.models import CancelCommand, DecideCommand, RequestSnapshot, workflow_id_for
from workflows.approval.workflow import ApprovalWorkflow
from workflows.worker import connect_temporal

Kind = Literal["ok", "store_ahead", "workflow_missing", "workflow_ahead"]
APPROVAL_WORKFLOW_TYPES = ("ApprovalWorkflowV2", "ApprovalWorkflow")
# Requests inspected at once: each is one query to Temporal and one read of the store.
CONCURRENCY = 8
LABELS: dict[str, str] = {
    "ok": "cocok",
    "store_ahead": "penyimpanan mendahului",
    "workflow_missing": "alur kerja tidak ada",
    "workflow_ahead": "alur kerja mendahului (celah audit)",
}


@dataclass(frozen=True)
class StoredEvent:
    version: int
    position: int
    type: str
    actor: str
    on_behalf_of: str | None
    payload: dict[str, Any]


@dataclass
class Finding:
    request_id: str
    kind: Kind
    store_status: str | None
    workflow_status: str | None
    store_version: int
    workflow_version: int | None
    current_task_id: str | None = None
    missing: list[str] = field(default_factory=list)
    detail: str = ""
    repair: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def classify(
    request_id: str,
    store_status: str | None,
    stream: list[StoredEvent],
    snapshot: RequestSnapshot | None,
    detail: str = "",
) -> Finding:
    """Compare the store's stream of a request with its workflow's state (None: Temporal has no workflow)."""
    store_version = stream[-1].version if stream else 0
    if snapshot is None:
        return Finding(request_id, "workflow_missing", store_status, None, store_version, None, detail=detail)
    common = {
        "request_id": request_id,
        "store_status": store_status,
        "workflow_status": snapshot.status,
        "store_version": store_version,
        "workflow_version": snapshot.version,
        "current_task_id": snapshot.current_task_id,
    }
    if store_version > snapshot.version:
        missing = [e.type for e in stream if e.version > snapshot.version]
        return Finding(kind="store_ahead", missing=missing, **common)  # type: ignore[arg-type]
    if snapshot.version > store_version:
        return Finding(
            kind="workflow_ahead",
            detail=f"alur kerja menulis sampai versi {snapshot.version}, penyimpanan hanya {store_version}",
            **common,  # type: ignore[arg-type]
        )
    return Finding(kind="ok", **common)  # type: ignore[arg-type]


def resend_for(event: StoredEvent) -> tuple[str, DecideCommand | CancelCommand] | str:
    """The Update that recorded `event`, rebuilt from it: (update name, command), or why it cannot be."""
    payload = event.payload
    if event.type == "DecisionRecorded":
        decision = DecisionKind(payload["decision"])
        if decision == DecisionKind.CHANGE:
            return "perubahan tanggal membawa penilaian kebijakan yang tidak tersimpan; putuskan ulang lewat portal"
        defer_until = payload.get("defer_until")
        return "decide", DecideCommand(
            task_id=payload["task_id"],
            decision=decision,
            comment=payload.get("comment"),
            actor=event.actor,
            on_behalf_of=event.on_behalf_of,
            defer_until=date.fromisoformat(defer_until) if defer_until else None,
        )
    if event.type == "RequestCancelled":
        return "cancel", CancelCommand(actor=event.actor, reason=payload.get("reason"))
    return f"peristiwa {event.type} tidak dapat dikirim ulang ke alur kerja"


class Inspector:
    """Reads one request from both sides."""

    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    async def stream(self, request_id: str) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            "SELECT version, position, type, actor, on_behalf_of, payload FROM events "
            "WHERE stream_id = $1 ORDER BY version",
            request_stream(request_id),
        )
        return [
            StoredEvent(
                version=int(r["version"]),
                position=int(r["position"]),
                type=r["type"],
                actor=r["actor"],
                on_behalf_of=r["on_behalf_of"],
                payload=r["payload"],
            )
            for r in rows
        ]

    async def snapshot(self, request_id: str) -> tuple[RequestSnapshot | None, str]:
        handle = self.client.get_workflow_handle(workflow_id_for(request_id))
        try:
            snapshot: RequestSnapshot = await handle.query(ApprovalWorkflow.state)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None, "Temporal tidak mengenal alur kerja pengajuan ini"
            raise
        return snapshot, ""

    async def inspect(self, request_id: str, store_status: str | None) -> Finding:
        # The workflow first: a decision reaches the store before its workflow, so a decision completing
        # meanwhile can only show as the store ahead, never as the workflow ahead.
        snapshot, detail = await self.snapshot(request_id)
        stream = await self.stream(request_id)
        finding = classify(request_id, store_status, stream, snapshot, detail)
        if finding.kind != "ok" and snapshot is not None:
            # Once more: an Update completing while we read is not a split.
            snapshot, detail = await self.snapshot(request_id)
            finding = classify(request_id, store_status, await self.stream(request_id), snapshot, detail)
        return finding

    async def repair(self, finding: Finding) -> Finding:
        """Re-send, one by one, the Updates whose events the workflow lacks, then inspect again."""
        for _ in range(len(finding.missing)):
            if finding.kind != "store_ahead" or finding.workflow_version is None:
                break
            lacking = [e for e in await self.stream(finding.request_id) if e.version > finding.workflow_version]
            resend = resend_for(lacking[0])
            if isinstance(resend, str):
                return _with_repair(finding, f"tidak diperbaiki: {resend}")
            name, command = resend
            handle = self.client.get_workflow_handle(workflow_id_for(finding.request_id))
            try:
                await handle.execute_update(
                    name,
                    command,
                    id=f"reconcile-{name}-{finding.request_id}-v{lacking[0].version}",
                    result_type=RequestSnapshot,
                )
            except WorkflowUpdateFailedError as failed:
                cause = str(failed.cause or failed)
                return _with_repair(finding, f"gagal: alur kerja menolak {lacking[0].type}: {cause}")
            finding = await self.inspect(finding.request_id, finding.store_status)
        return _with_repair(finding, "diperbaiki" if finding.kind == "ok" else "sebagian")


def _with_repair(finding: Finding, repair: str) -> Finding:
    finding.repair = repair
    return finding


@dataclass
class Report:
    findings: list[Finding]

    @property
    def all_ok(self) -> bool:
        return all(f.kind == "ok" for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for f in self.findings if f.kind == kind) for kind in LABELS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.all_ok,
            "counts": self.counts(),
            "requests": [f.as_dict() for f in self.findings if f.kind != "ok" or f.repair],
            "checked": len(self.findings),
        }


async def _requests_to_check(pool: asyncpg.Pool, client: Client) -> dict[str, str | None]:
    """Every request the store has in flight, and every running approval workflow: id → the store's status."""
    rows = await pool.fetch(
        "SELECT request_id::text AS id, status FROM rm_requests WHERE status = ANY($1::text[])", list(IN_FLIGHT)
    )
    wanted: dict[str, str | None] = {r["id"]: r["status"] for r in rows}
    running: list[str] = []
    async for execution in client.list_workflows('ExecutionStatus="Running"'):
        if execution.workflow_type in APPROVAL_WORKFLOW_TYPES and execution.id.startswith("request-"):
            running.append(execution.id.removeprefix("request-"))
    others = [r for r in running if r not in wanted]
    if others:
        for row in await pool.fetch(
            "SELECT request_id::text AS id, status FROM rm_requests WHERE request_id::text = ANY($1::text[])", others
        ):
            wanted[row["id"]] = row["status"]
        for request_id in others:
            wanted.setdefault(request_id, None)
    return wanted


class Bar:
    """A progress bar on a terminal; nothing otherwise."""

    def __init__(self, console: Console, description: str) -> None:
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        )
        self.description = description
        self.task = self.progress.add_task(description, total=None)

    @contextlib.contextmanager
    def running(self, total: int) -> Iterator[Bar]:
        self.progress.update(self.task, total=total)
        if not self.live:
            yield self
            return
        with self.progress:
            yield self

    def advance(self) -> None:
        self.progress.advance(self.task)


async def _each(items: list[Any], work: Callable[[Any], Awaitable[Finding]], bar: Bar) -> list[Finding]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Any) -> Finding:
        async with gate:
            finding = await work(item)
        bar.advance()
        return finding

    with bar.running(len(items)):
        return list(await asyncio.gather(*(one(item) for item in items)))


def _addresses(state_dir: Path, settings: Settings) -> tuple[str, str]:
    """The store and Temporal of the `lentur up` in `state_dir`; on a cluster (no stack there), the settings'."""
    if not (state_dir / "stack.json").exists() and settings.database_url and settings.temporal_address:
        return settings.database_url, settings.temporal_address
    stack = stack_in(state_dir)
    return str(stack["database_url"]), str(stack["temporal_address"])


async def _reconcile(state_dir: Path, settings: Settings, console: Console, repair: bool) -> Report:
    database_url, temporal_address = _addresses(state_dir, settings)
    pool = await create_pool(database_url, min_size=1, max_size=CONCURRENCY, application_name="lentur-reconcile")
    try:
        client = await connect_temporal(temporal_address, settings.temporal_namespace)
        inspector = Inspector(pool, client)
        wanted = await _requests_to_check(pool, client)
        ids = sorted(wanted)
        findings = await _each(ids, lambda rid: inspector.inspect(rid, wanted[rid]), Bar(console, "memeriksa"))
        if repair:
            split = [f for f in findings if f.kind == "store_ahead"]
            repaired = {f.request_id: f for f in await _each(split, inspector.repair, Bar(console, "memperbaiki"))}
            findings = [repaired.get(f.request_id, f) for f in findings]
    finally:
        await pool.close()
    return Report(sorted(findings, key=lambda f: (f.kind == "ok", f.request_id)))


def reconcile(state_dir: Path, settings: Settings, console: Console, *, repair: bool = False) -> Report:
    return asyncio.run(_reconcile(state_dir.resolve(), settings, console, repair))
