"""Measures verify and rebuild on a large synthetic store (`lentur audit bench`).

Runs in a scratch database on the configured server, so the real log is never touched.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

import deploy
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.store import PostgresEventStore
from policy.directory import parse_directory_csv
from runtime.clock import Clock
from services.approvals.rebuild import rebuild_read_models
from services.audit.checkpoints import sign_checkpoint
from services.audit.service import verify_store
from services.audit.signing import CheckpointSigner, generate_private_key
from services.audit.workload import SyntheticLog

SAMPLE_DIRECTORY = Path(deploy.__file__).resolve().parent / "data" / "directory-sample.csv"


def _server_url(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + database


async def fill(store: PostgresEventStore, events: int, *, writers: int = 200, seed: int = 7) -> int:
    """Append about `events` events of synthetic request lifecycles, `writers` requests at a time."""
    people = list(parse_directory_csv(SAMPLE_DIRECTORY.read_text(encoding="utf-8")))
    requests = SyntheticLog(people, seed=seed).requests(10**12)
    written = 0

    async def writer() -> None:
        nonlocal written
        while written < events:
            for unit in next(requests):
                await store.append(unit)
                written += len(unit.events)

    await asyncio.gather(*(writer() for _ in range(writers)))
    return written


async def run_bench(dsn: str, *, events: int, keep: bool = False) -> dict[str, Any]:
    name = f"lentur_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_server_url(dsn, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = _server_url(dsn, name)
    figures: dict[str, Any] = {"database": name if keep else None, "target_events": events}
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await create_pool(url, min_size=2, max_size=20, statement_timeout_ms=0, application_name="bench")
        try:
            store = PostgresEventStore(pool)
            started = time.perf_counter()
            written = await fill(store, events)
            seconds = time.perf_counter() - started
            figures["append"] = {
                "events": written,
                "seconds": round(seconds, 2),
                "events_per_s": round(written / seconds),
            }
            signer = CheckpointSigner(generate_private_key())
            started = time.perf_counter()
            await sign_checkpoint(store, signer, Clock())
            figures["first_checkpoint_seconds"] = round(time.perf_counter() - started, 3)
            runs = []
            for _ in range(3):
                gc.collect()
                started, cpu = time.perf_counter(), time.process_time()
                report = await verify_store(pool, trusted_keys={signer.key_id: signer.public_key})
                runs.append((time.perf_counter() - started, time.process_time() - cpu))
                assert report.ok, report.reason
            best, best_cpu = min(runs)
            figures["verify"] = {
                "events": report.events_checked,
                "checkpoints": report.checkpoints_checked,
                "seconds_best": round(best, 3),
                "seconds_runs": [round(r[0], 3) for r in runs],
                "events_per_s": round(report.events_checked / best),
                # this process's CPU time: what the rate would be with a core to itself (the machine may be shared)
                "cpu_seconds": round(best_cpu, 3),
                "events_per_cpu_s": round(report.events_checked / best_cpu),
            }
            gc.collect()
            cpu = time.process_time()
            figures["rebuild"] = await rebuild_read_models(pool)
            figures["rebuild"]["cpu_seconds"] = round(time.process_time() - cpu, 3)
            figures["rebuild"]["events_per_s"] = round(
                figures["rebuild"]["events"] / figures["rebuild"]["total_seconds"]
            )
            figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
            figures["cpus"] = os.cpu_count()
        finally:
            await pool.close()
    finally:
        if not keep:
            admin = await asyncpg.connect(_server_url(dsn, "postgres"))
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            finally:
                await admin.close()
    return figures
