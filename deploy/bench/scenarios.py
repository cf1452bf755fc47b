"""The measured scenarios. Each returns plain dicts of figures; the runner compares them side by side."""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from temporalio.client import Client

from deploy.bench.bare import BareApproval
from deploy.bench.client import BenchClient
from deploy.bench.workload import (
    EVENTS_PER_REQUEST,
    HISTORY_START,
    LEAVE_DAYS,
    WINDOW_DAYS,
    BenchDirectory,
    bench_people,
    directory_unit,
    leave_body,
    request_history,
    wfh_body,
)
from deploy.infra import database_address
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.projector import PROJECTION_CHANNEL
from eventstore.relay import EVENTS_CHANNEL
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from services.approvals.rebuild import rebuild_read_models
from services.audit.parallel import PARALLEL_MIN_EVENTS
from services.audit.service import verify_store


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def run_concurrently(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run `one(i)` for i in range(n) with at most `concurrency` in flight; returns the wall time."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started


# --- 1. full path vs bare workflow ------------------------------------------------------------------------


@dataclass
class FullPath:
    base_url: str
    directory: BenchDirectory
    tokens: dict[str, str] = field(default_factory=dict)
    _slots: Iterator[tuple[str, str, str, str]] | None = None
    _leave_slots: Iterator[tuple[str, str, str, str]] | None = None

    def slots(self, days: list[str] = WINDOW_DAYS) -> Iterator[tuple[str, str, str, str]]:
        for day in days:
            for requester, head, opd_head in self.directory.requesters():
                yield requester, head, opd_head, day

    def next_slot(self) -> tuple[str, str, str, str]:
        if self._slots is None:
            self._slots = self.slots()
        return next(self._slots)

    def next_leave_slot(self) -> tuple[str, str, str, str]:
        if self._leave_slots is None:
            self._leave_slots = self.slots(LEAVE_DAYS)
        return next(self._leave_slots)

    async def token(self, http: BenchClient, nip: str) -> str:
        if nip not in self.tokens:
            r = await http.post("/api/dev/token", json={"nip": nip})
            r.raise_for_status()
            self.tokens[nip] = r.json()["access_token"]
        return self.tokens[nip]

    async def run(
        self, concurrency: int, iterations: int, lag: LagProbe | None = None, *, three_tier: bool = False
    ) -> dict[str, Any]:
        """Submit and approve `iterations` requests, `concurrency` at a time: WFH through two tiers, or with
        `three_tier` annual leave through unit head, OPD head and the PPK."""
        totals: list[float] = []
        decisions: list[float] = []
        answered: dict[str, list[float]] = {}  # request id → when each decision's answer arrived, in order
        failures: list[str] = []
        async with BenchClient(self.base_url) as http:
            slots = [self.next_leave_slot() if three_tier else self.next_slot() for _ in range(iterations)]
            for nip in {n for s in slots for n in s[:3]} | {self.directory.ppk}:
                await self.token(http, nip)
            body = leave_body if three_tier else wfh_body

            async def one(i: int) -> None:
                requester, head, opd_head, day = slots[i]
                started = time.perf_counter()
                r = await http.post("/api/requests", json=body(day), token=self.tokens[requester])
                if r.status_code != 201:
                    failures.append(f"submit {r.status_code}: {r.text[:200]}")
                    return
                submitted = r.json()
                task_id = submitted["current_task_id"]
                times = answered.setdefault(submitted["id"], [])
                answer = submitted
                for approver in (head, opd_head, self.directory.ppk) if three_tier else (head, opd_head):
                    t = time.perf_counter()
                    d = await http.post(
                        f"/api/tasks/{task_id}/decision", json={"decision": "approve"}, token=self.tokens[approver]
                    )
                    times.append(time.perf_counter())
                    decisions.append(times[-1] - t)
                    if d.status_code != 200:
                        failures.append(f"decide {d.status_code}: {d.text[:200]}")
                        return
                    answer = d.json()
                    task_id = answer["current_task_id"]
                if answer["status"] != "APPROVED":
                    failures.append(f"not approved: {answer['status']}")
                    return
                totals.append(time.perf_counter() - started)

            if lag is not None:
                lag.reset()
            wall = await run_concurrently(iterations, concurrency, one)
        figures: dict[str, Any] = {}
        if lag is not None:
            latencies = await lag.decision_latencies(answered)
            figures["decision_recorded_to_visible"] = percentiles(latencies["to_visible"])
            figures["decision_recorded_to_answered"] = percentiles(latencies["to_answered"])
        return {
            "concurrency": concurrency,
            "iterations": iterations,
            "completed": len(totals),
            "failures": len(failures),
            "failure_samples": failures[:3],
            "throughput_per_s": round(len(totals) / wall, 2),
            "submit_to_approved": percentiles(totals),
            # The approver's whole call: queueing for the workflow, the Update, the append and the wait until
            # the read model shows it (the API answers only then).
            "decision_round_trip": percentiles(decisions),
            "wall_s": round(wall, 2),
        } | figures


class BareCeiling:
    def __init__(self, temporal_address: str) -> None:
        self.address = temporal_address
        self.task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._errors = tempfile.TemporaryFile()  # the worker's stderr, shown if it fails to start

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.bench.bare_worker", self.address, self.task_queue],
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            # A worker that died at start would leave every bare workflow waiting for ever.
            self.proc.wait(10)
            self._errors.seek(0)
            tail = self._errors.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"the bare workflow worker did not start (exit {self.proc.returncode}):\n{tail}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
        self._errors.close()

    async def run(self, concurrency: int, iterations: int) -> dict[str, Any]:
        client = await Client.connect(self.address)
        totals: list[float] = []
        updates: list[float] = []

        async def one(i: int) -> None:
            started = time.perf_counter()
            handle = await client.start_workflow(
                BareApproval.run, 2, id=f"bare-{uuid.uuid4()}", task_queue=self.task_queue
            )
            for actor in ("unit-head", "opd-head"):
                t = time.perf_counter()
                await handle.execute_update(BareApproval.decide, actor)
                updates.append(time.perf_counter() - t)
            await handle.result()
            totals.append(time.perf_counter() - started)

        wall = await run_concurrently(iterations, concurrency, one)
        return {
            "concurrency": concurrency,
            "iterations": iterations,
            "completed": len(totals),
            "throughput_per_s": round(len(totals) / wall, 2),
            "start_to_result": percentiles(totals),
            "update": percentiles(updates),
            "wall_s": round(wall, 2),
        }


# --- 3. projection lag --------------------------------------------------------------------------------------


class LagProbe:
    """Commit → visible: the store NOTIFYs each append at commit, the projector each applied batch at commit.

    Both notifications reach one listening connection, so both moments are read on the same clock.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.committed: dict[int, float] = {}
        self.applied: list[tuple[int, float]] = []
        self.conn: asyncpg.Connection | None = None

    async def start(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)
        await self.conn.add_listener(EVENTS_CHANNEL, self._on_commit)
        await self.conn.add_listener(PROJECTION_CHANNEL, self._on_applied)

    async def stop(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    def reset(self) -> None:
        self.committed.clear()
        self.applied.clear()

    def _on_commit(self, _c: object, _p: int, _ch: str, payload: str) -> None:
        self.committed[int(payload)] = time.perf_counter()

    def _on_applied(self, _c: object, _p: int, _ch: str, payload: str) -> None:
        name, _, position = payload.rpartition(":")
        if name == "read-models":
            self.applied.append((int(position), time.perf_counter()))

    @staticmethod
    def _first_at_or_after(moments: list[tuple[int, float]], position: int) -> float | None:
        """`moments` sorted (last position of a batch, when): when the batch holding `position` got there."""
        i = bisect.bisect_left(moments, (position, float("-inf")))
        return moments[i][1] if i < len(moments) else None

    async def decision_latencies(self, answered: dict[str, list[float]]) -> dict[str, list[float]]:
        """For each decision, from the commit of its DecisionRecorded:

        - to_visible: until the read models that GET /api/requests/{id} reads have it (the projector's commit
          of a batch at or past its position; a GET reads those tables directly);
        - to_answered: until the approver's call came back (an upper bound of the above: the Update's result
          still travels back through Temporal, the API waits until it sees the position, the answer crosses HTTP).
        """
        assert self.conn is not None
        rows = await self.conn.fetch(
            "SELECT stream_id, position FROM events WHERE stream_id = ANY($1::text[]) AND type = 'DecisionRecorded' "
            "ORDER BY stream_id, version",
            [f"request-{request_id}" for request_id in answered],
        )
        positions: dict[str, list[int]] = {}
        for row in rows:
            positions.setdefault(row["stream_id"].removeprefix("request-"), []).append(row["position"])
        committed = sorted(self.committed.items())
        applied = sorted(self.applied)
        out: dict[str, list[float]] = {"to_visible": [], "to_answered": []}
        for request_id, times in answered.items():
            for position, answered_at in zip(positions.get(request_id, []), times, strict=False):
                committed_at = self._first_at_or_after(committed, position)
                if committed_at is None:
                    continue
                visible_at = self._first_at_or_after(applied, position)
                if visible_at is not None:
                    out["to_visible"].append(max(0.0, visible_at - committed_at))
                out["to_answered"].append(max(0.0, answered_at - committed_at))
        return out

    def figures(self) -> dict[str, Any]:
        applied = sorted(self.applied)
        lags = []
        for position, committed_at in self.committed.items():
            visible_at = self._first_at_or_after(applied, position)
            if visible_at is not None:
                lags.append(max(0.0, visible_at - committed_at))
        return percentiles(lags)


# --- 2. append ---------------------------------------------------------------------------------------------


async def _fresh_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def _event(stream: str) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        stream_id=stream,
        type="BenchEvent",
        schema_version=1,
        payload={"request_id": str(uuid.uuid4()), "tier": "UNIT_HEAD", "decision": "approve"},
        occurred_at=datetime.now(UTC),
        actor="199001012015011001",
        correlation_id="bench",
    )


async def bench_append(admin_dsn: str, concurrencies: list[int], seconds: float) -> dict[str, Any]:
    dsn = await _fresh_database(admin_dsn, "lentur_bench_append")
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    await conn.execute(
        "CREATE TABLE raw_events (id bigserial PRIMARY KEY, event_id uuid NOT NULL, stream_id text NOT NULL, "
        "type text NOT NULL, occurred_at timestamptz NOT NULL, actor text NOT NULL, payload jsonb NOT NULL)"
    )
    await conn.close()
    results: dict[str, Any] = {}
    for concurrency in concurrencies:
        pool = await create_pool(dsn, min_size=concurrency, max_size=concurrency + 2)
        store = PostgresEventStore(pool)

        async def timed(op: Callable[[int], Awaitable[None]], concurrency: int = concurrency) -> float:
            count = 0
            deadline = time.perf_counter() + seconds

            async def loop(worker: int) -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    await op(worker)
                    count += 1

            started = time.perf_counter()
            await asyncio.gather(*(loop(w) for w in range(concurrency)))
            return count / (time.perf_counter() - started)

        async def lentur(worker: int, store: PostgresEventStore = store) -> None:
            await store.append(AppendUnit([_event(f"bench-{worker}-{uuid.uuid4().hex[:6]}")]))

        async def raw(worker: int, pool: asyncpg.Pool = pool) -> None:
            e = _event(f"raw-{worker}")
            async with pool.acquire() as c, c.transaction():
                await c.execute(
                    "INSERT INTO raw_events (event_id, stream_id, type, occurred_at, actor, payload) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    e.event_id,
                    e.stream_id,
                    e.type,
                    e.occurred_at,
                    e.actor,
                    e.payload,
                )

        await timed(raw)  # warm-up
        raw_rate = await timed(raw)
        lentur_rate = await timed(lentur)
        await pool.close()
        es_rate = await asyncio.to_thread(_eventsourcing_rate, dsn, concurrency, seconds)
        results[str(concurrency)] = {
            "raw_insert_per_s": round(raw_rate, 1),
            "lentur_append_per_s": round(lentur_rate, 1),
            "eventsourcing_per_s": round(es_rate, 1) if es_rate else None,
            "lentur_vs_raw": round(lentur_rate / raw_rate, 3),
            "lentur_vs_eventsourcing": round(lentur_rate / es_rate, 2) if es_rate else None,
        }
    return results


def _eventsourcing_rate(dsn: str, concurrency: int, seconds: float) -> float | None:
    """The eventsourcing library's Postgres recorder on the same database (bench-only extra)."""
    try:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        return None
    user, host, port, dbname = database_address(dsn)  # host: the socket directory where the stack uses it
    datastore = PostgresDatastore(dbname, host, port, user, "", pool_size=concurrency, max_overflow=0)
    recorder = PostgresApplicationRecorder(datastore, events_table_name="es_events")
    recorder.create_table()
    count = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    state = json.dumps({"tier": "UNIT_HEAD", "decision": "approve"}).encode()

    def loop() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "bench:Decided", state)])
            with lock:
                count += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = count / (time.perf_counter() - started)
    datastore.close()
    return rate


# --- 4. verify and rebuild at growing sizes -----------------------------------------------------------------


async def bench_verify_rebuild(admin_dsn: str, sizes: list[int]) -> dict[str, Any]:
    import random

    results: dict[str, Any] = {}
    for size in sizes:
        dsn = await _fresh_database(admin_dsn, "lentur_bench_scale")
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(dsn, min_size=2, max_size=10, statement_timeout_ms=0)
        store = PostgresEventStore(pool)
        rng = random.Random(size)
        people = bench_people()
        await store.append(directory_unit(people, HISTORY_START))
        requests = size // EVENTS_PER_REQUEST
        started = time.perf_counter()
        batch = 200
        for first in range(0, requests, batch):
            await asyncio.gather(
                *(
                    store.append(request_history(first + i, rng, HISTORY_START))
                    for i in range(min(batch, requests - first))
                )
            )
        generated = time.perf_counter() - started
        events = await store.head_position()
        # Straight after a bulk load every row still needs its visibility worked out, which makes a first read
        # ~1.5x slower. A live store is vacuumed by autovacuum as it grows (PostgreSQL 13+ vacuums insert-only
        # tables too), so the figures held against the targets come after a VACUUM; the fresh ones are kept.
        # As `lentur audit verify` does it: one process per CPU from PARALLEL_MIN_EVENTS on, one pass below.
        workers = os.cpu_count() or 1
        segments = workers if events >= PARALLEL_MIN_EVENTS else 1
        t = time.perf_counter()
        fresh = await verify_store(pool, workers=workers, dsn=dsn)
        fresh_s = time.perf_counter() - t
        t = time.perf_counter()
        await pool.execute("VACUUM (ANALYZE) events")
        vacuum_s = time.perf_counter() - t
        t = time.perf_counter()
        report = await verify_store(pool, workers=workers, dsn=dsn)
        verify_s = time.perf_counter() - t
        t = time.perf_counter()
        single = await verify_store(pool) if segments > 1 else report  # the one-pass figure beside it
        single_s = time.perf_counter() - t if segments > 1 else verify_s
        rebuild = await rebuild_read_models(pool)
        await pool.close()
        results[str(size)] = {
            "events": events,
            "bulk_append_per_s": round(events / generated, 1),
            "verify_ok": report.ok and fresh.ok and single.ok,
            "verify_processes": segments,
            "verify_one_pass_events_per_s": round(events / single_s, 1),
            "verify_fresh_s": round(fresh_s, 3),
            "verify_fresh_events_per_s": round(events / fresh_s, 1),
            "vacuum_s": round(vacuum_s, 3),
            "verify_s": round(verify_s, 3),
            "verify_events_per_s": round(events / verify_s, 1),
            "rebuild_s": rebuild["total_seconds"],
            "rebuild_fold_s": rebuild["fold_seconds"],
            "rebuild_write_s": rebuild["write_seconds"],
            "rebuild_events_per_s": round(events / rebuild["total_seconds"], 1),
        }
    return results


# --- 5. memory with many pending requests -------------------------------------------------------------------


def peak_rss_mb(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current RSS of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines() if ":" in line}
    peak = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    current = psutil.Process(pid).memory_info().rss / 2**20
    return {"peak_mb": round(peak, 1), "rss_mb": round(current, 1)}


async def bench_memory(full: FullPath, pids: dict[str, int], pending: int) -> dict[str, Any]:
    failures = 0
    async with BenchClient(full.base_url) as http:
        slots = [full.next_slot() for _ in range(pending)]
        for nip in {s[0] for s in slots}:
            await full.token(http, nip)

        async def one(i: int) -> None:
            nonlocal failures
            requester, _, _, day = slots[i]
            r = await http.post("/api/requests", json=wfh_body(day), token=full.tokens[requester])
            failures += r.status_code != 201

        wall = await run_concurrently(pending, 20, one)
    processes = {name: peak_rss_mb(pid) for name, pid in pids.items()}
    return {
        "pending_requests": pending - failures,
        "submit_wall_s": round(wall, 2),
        "processes": processes,
        "app_peak_total_mb": round(sum(p["peak_mb"] for p in processes.values()), 1),
    }
