"""`lentur bench --only capacity`: the ceiling of each part of the path, measured alone on this machine.

docs/CAPACITY.md turns these into what a deployment carries. Each figure is a rate of one part with the rest
idle (as idle as a shared machine allows):

- appends: events/s through `lentur_append` under the global chain's lock, by events per call (group commit
  makes a call of many units one batch);
- projections: events/s one writer applies per projection (read models, notifier), by delivered batch size;
- temporal: workflow tasks/s the stack's dev server completes (one history shard), read from its metrics;
- api: authenticated reads/s per core of the API process (requests over the API's own CPU-seconds).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import urllib.request
import uuid
from typing import Any

import asyncpg

from deploy.bench.client import BenchClient
from deploy.bench.scenarios import BareCeiling, FullPath, _event, _fresh_database, run_concurrently
from deploy.bench.workload import HISTORY_START, bench_people, directory_unit, request_history
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.projector import Projection, ProjectionRunner
from eventstore.store import AppendUnit, PostgresEventStore
from services.approvals.projection import ReadModelProjection
from services.notifications.projection import NotifierConfig, NotifierProjection

APPEND_BATCHES = (1, 10, 50, 200)
PROJECTION_BATCHES = (10, 100)


async def _database(admin_dsn: str, name: str) -> tuple[str, asyncpg.Pool]:
    dsn = await _fresh_database(admin_dsn, name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return dsn, await create_pool(dsn, min_size=2, max_size=10, statement_timeout_ms=0)


async def append_ceiling(admin_dsn: str, seconds: float) -> dict[str, Any]:
    """Events/s appended by one process, `batch` events per `lentur_append` call, calls one after another
    (the chain's lock is held by one call at a time whatever the number of callers)."""
    _, pool = await _database(admin_dsn, "lentur_bench_capacity")
    store = PostgresEventStore(pool)
    out: dict[str, Any] = {}
    try:
        for batch in APPEND_BATCHES:
            await store.append(AppendUnit([_event(f"warm-{uuid.uuid4().hex[:8]}") for _ in range(batch)]))
            calls = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                # One unit per event, as when many requests' appends arrive together.
                await store._append_batch([AppendUnit([_event(f"c-{uuid.uuid4().hex[:10]}")]) for _ in range(batch)])
                calls += 1
            wall = time.perf_counter() - started
            out[str(batch)] = {
                "calls_per_s": round(calls / wall, 1),
                "events_per_s": round(calls * batch / wall, 1),
                "ms_per_call": round(wall * 1000 / calls, 2),
            }
    finally:
        await pool.close()
    return out


async def projection_ceiling(admin_dsn: str, requests: int) -> dict[str, Any]:
    """Events/s one runner applies, per projection and delivered batch size, over the bench's request
    histories (seven events each: submitted, policy, task, decisions, quota, outcome)."""
    out: dict[str, Any] = {}
    projections: dict[str, Any] = {
        "read-models": ReadModelProjection,
        "notifier": lambda: NotifierProjection(
            NotifierConfig(
                base_url="http://lentur.test",
                fallback_domain="lentur.test",
                email_enabled=True,
                webhook_enabled=False,
                digest_hour=7,
            )
        ),
    }
    for name, make in projections.items():
        for batch in PROJECTION_BATCHES:
            _, pool = await _database(admin_dsn, "lentur_bench_capacity")
            store = PostgresEventStore(pool)
            try:
                rng = random.Random(requests)
                await store.append(directory_unit(bench_people(), HISTORY_START))
                for first in range(0, requests, 200):
                    await asyncio.gather(
                        *(
                            store.append(request_history(first + i, rng, HISTORY_START))
                            for i in range(min(200, requests - first))
                        )
                    )
                events = await store.read_all(after=0, limit=10 * requests + 10)
                projection: Projection = make()
                runner = ProjectionRunner(pool, store, projection)
                await runner.deliver(events[:1])  # the directory
                rest = events[1:]
                started = time.perf_counter()
                for first in range(0, len(rest), batch):
                    await runner.deliver(rest[first : first + batch])
                wall = time.perf_counter() - started
                out.setdefault(name, {})[str(batch)] = {
                    "events": len(rest),
                    "events_per_s": round(len(rest) / wall, 1),
                    "batches_per_s": round(len(rest) / batch / wall, 1),
                }
            finally:
                await pool.close()
    return out


def _workflow_tasks_started(metrics_url: str) -> float:
    """Workflow tasks handed to a worker so far. RecordWorkflowTaskStarted is counted by the history service
    alone; RespondWorkflowTaskCompleted would count each task twice (frontend and history)."""
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("service_requests{") and 'operation="RecordWorkflowTaskStarted"' in line:
            match = re.search(r"\}\s+([0-9.eE+]+)$", line)
            if match:
                total += float(match.group(1))
    return total


async def temporal_ceiling(temporal_address: str, metrics_url: str, workflows: int, cpu: Any) -> dict[str, Any]:
    """Workflow tasks/s the dev server completes with the bare workflow at concurrency 50: its ceiling with
    no Lentur code in the way. `cpu()` reads the Temporal server's CPU-seconds."""
    bare = BareCeiling(temporal_address)
    bare.start()
    try:
        await bare.run(10, 20)
        tasks_before, cpu_before = _workflow_tasks_started(metrics_url), cpu()
        figures = await bare.run(50, workflows)
        tasks, spent = _workflow_tasks_started(metrics_url) - tasks_before, cpu() - cpu_before
    finally:
        bare.stop()
    return {
        "history_shards": 1,
        "workflows": workflows,
        "workflow_tasks": int(tasks),
        "workflow_tasks_per_workflow": round(tasks / workflows, 2),
        "workflow_tasks_per_s": round(tasks / figures["wall_s"], 1),
        "server_cpu_ms_per_workflow_task": round(spent * 1000 / max(tasks, 1), 2),
        "workflow_tasks_per_server_core_s": round(tasks / spent, 1) if spent else None,
    }


async def api_ceiling(full: FullPath, requests: int, cpu: Any) -> dict[str, Any]:
    """Authenticated reads (GET /api/notifications/preferences: token, principal, one row) at concurrency 20;
    requests/s over the API process's CPU-seconds is what one core of API carries."""
    nip = full.directory.ppk
    async with BenchClient(full.base_url) as http:
        token = await full.token(http, nip)
        for _ in range(20):
            (await http.get("/api/notifications/preferences", token=token)).raise_for_status()
        before = cpu()

        async def one(_: int) -> None:
            (await http.get("/api/notifications/preferences", token=token)).raise_for_status()

        wall = await run_concurrently(requests, 20, one)
        spent = cpu() - before
    return {
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "api_cpu_ms_per_request": round(spent * 1000 / requests, 2),
        "requests_per_core_s": round(requests / spent, 1) if spent else None,
    }


async def bench_capacity(info: dict[str, Any], full: FullPath, quick: bool, cpu_of: Any) -> dict[str, Any]:
    admin_dsn = info["database_url"].rsplit("/", 1)[0] + "/postgres"
    ports = _ports(info)
    metrics_url = f"http://127.0.0.1:{ports['temporal_metrics']}/metrics"
    return {
        "append": await append_ceiling(admin_dsn, 1.5 if quick else 5.0),
        "projection": await projection_ceiling(admin_dsn, 300 if quick else 2000),
        "temporal": await temporal_ceiling(
            info["temporal_address"], metrics_url, 150 if quick else 600, lambda: cpu_of("temporal")
        ),
        "api": await api_ceiling(full, 600 if quick else 3000, lambda: cpu_of("api")),
    }


def _ports(info: dict[str, Any]) -> dict[str, int]:
    import json
    from pathlib import Path

    ports: dict[str, int] = json.loads((Path(info["state_dir"]) / "ports.json").read_text())
    return ports
