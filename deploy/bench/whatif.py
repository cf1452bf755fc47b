"""Benchmark: write a synthetic season into a fresh event store, then time the what-if simulation over it.

`run_simulation_bench(n)` is what `lentur bench` calls. The season is generated as the live service would
have written it (see `services.whatif.synthetic`) into a database of its own, which is dropped afterwards.
The draft tightens Bitung's direct-service cap from 50% to 25%, so every request of the season is judged
twice (once as recorded, once under the draft) and the draft's world really differs.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from contracts.canonical import canonical_json
from eventstore.chain import chain_hash, content_hash, event_hash
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.store import NewEvent
from policy.bundled import bundled_pack_texts
from policy.packs import load_pack
from services.whatif.service import PARALLEL_FROM_EVENTS, SimulationSpec, simulate
from services.whatif.simulator import Period
from services.whatif.synthetic import SEASON, SeasonWriter, synthetic_directory

BENCH_REGION = "bitung"
COPY_ROWS = 5000


def bitung_quarter_cap_draft() -> str:
    text = bundled_pack_texts()["bitung.yaml"]
    draft = text.replace("max_away_ratio: 0.5", "max_away_ratio: 0.25").replace(
        "version: 2025.12.1.1", "version: 2025.12.9"
    )
    assert draft != text, "the Bitung pack no longer has the 50% cap this benchmark tightens"
    return draft


def run_simulation_bench(
    n_requests: int = 100_000, *, database_url: str | None = None, seed: int = 2025
) -> dict[str, Any]:
    """Generate a season of `n_requests` recorded requests, simulate a draft over it, return the figures."""
    return asyncio.run(simulation_bench(n_requests, database_url=database_url, seed=seed))


async def simulation_bench(n_requests: int, *, database_url: str | None = None, seed: int = 2025) -> dict[str, Any]:
    server, infra = _server_url(database_url)
    name = f"whatif_bench_{uuid.uuid4().hex[:10]}"
    try:
        url = await _create_database(server, name)
        try:
            return await _run(url, n_requests, seed)
        finally:
            await _drop_database(server, name)
    finally:
        if infra is not None:
            infra.stop()


async def _run(url: str, n_requests: int, seed: int) -> dict[str, Any]:
    pool = await create_pool(url, min_size=1, max_size=2, statement_timeout_ms=600_000)
    try:
        started = time.perf_counter()
        people = synthetic_directory(max(200, n_requests // 5), regions=(BENCH_REGION,))
        writer = SeasonWriter(people, list(bundled_pack_texts().values()), seed=seed)
        events = await bulk_load(url, writer.events(n_requests))
        generated = time.perf_counter() - started

        spec = SimulationSpec(
            draft=load_pack(bitung_quarter_cap_draft()),
            period=Period(*SEASON),
            regions=frozenset({BENCH_REGION}),
            items="changed",
        )
        began = time.perf_counter()
        cpu_began = time.process_time()
        report = await simulate(pool, spec, database_url=url)
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        payload_bytes = len(json.dumps(report, ensure_ascii=False).encode())
        return {
            "benchmark": "whatif_simulation",
            "requests_recorded": writer.stats.recorded,
            "attempts_including_refused": writer.stats.attempts,
            "people": len(people),
            "events_in_store": events,
            "generate_and_write_seconds": round(generated, 2),
            "simulation_seconds": round(elapsed, 2),
            "simulation_cpu_seconds": round(cpu, 2),
            "requests_per_second": round(writer.stats.recorded / elapsed) if elapsed else None,
            "requests_in_report": report["total"],
            "changed": report["changed"],
            "fidelity_checked": report["fidelity"]["checked"],
            "fidelity_mismatched": len(report["fidelity"]["mismatched"]),
            "report_bytes_changed_items": payload_bytes,
            "fidelity_checked_in_second_process": events >= PARALLEL_FROM_EVENTS,
            "cpu_count": os.cpu_count(),
            "goal_seconds": 60,
        }
    finally:
        await pool.close()


EVENT_COLUMNS = (
    "position",
    "event_id",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor",
    "on_behalf_of",
    "correlation_id",
    "causation_id",
    "policy",
    "clock",
    "payload",
    "content_hash",
    "prev_hash",
    "hash",
    "chain_hash",
)


async def bulk_load(url: str, events: Iterable[NewEvent]) -> int:
    """Bulk-load a fresh store with COPY, computing the same hash chains `lentur_append` computes.

    Appending a season event by event through the store function would dominate the benchmark's run time
    (about 4k events/s here); the chains are the ones `eventstore.chain` verifies, so the loaded store is a
    valid one (the tests check it with the audit verifier).
    """
    position = 0
    chain: str | None = None
    heads: dict[str, tuple[int, str]] = {}
    recorded_at = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    conn = await asyncpg.connect(url)
    try:
        # COPY speaks the binary format: jsonb is a version byte followed by the JSON text
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda value: b"\x01" + canonical_json(value).encode(),
            decoder=lambda raw: json.loads(raw[1:]),
            schema="pg_catalog",
            format="binary",
        )
        for event in events:
            position += 1
            version, prev = heads.get(event.stream_id, (0, None))
            version += 1
            content = content_hash(event.content_fields())
            own = event_hash(prev, content, event.stream_id, version, position, recorded_at)
            chain = chain_hash(chain, own, position)
            heads[event.stream_id] = (version, own)
            rows.append(
                (
                    position,
                    event.event_id,
                    event.stream_id,
                    version,
                    event.type,
                    event.schema_version,
                    event.occurred_at,
                    recorded_at,
                    event.actor,
                    event.on_behalf_of,
                    event.correlation_id,
                    event.causation_id,
                    event.policy,
                    event.clock,
                    event.payload,
                    content,
                    prev,
                    own,
                    chain,
                )
            )
            if len(rows) >= COPY_ROWS:
                await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
                rows = []
        if rows:
            await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
        await conn.execute("ANALYZE events")  # as autovacuum would soon after such a load
    finally:
        await conn.close()
    return position


def _server_url(database_url: str | None) -> tuple[str, Any]:
    """A Postgres server to create the bench database on: given, from settings, from `lentur up`, or our own."""
    url = database_url or os.environ.get("LENTUR_DATABASE_URL")
    if not url:
        stack = Path(".lentur/stack.json")
        if stack.exists():
            url = json.loads(stack.read_text()).get("database_url")
    if url:
        return url, None
    from deploy.infra import EmbeddedInfrastructure

    infra = EmbeddedInfrastructure(Path(tempfile.mkdtemp(prefix="whatif-bench-")) / ".lentur")
    return infra.start().database_url, infra


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _create_database(server: str, name: str) -> str:
    admin = await asyncpg.connect(_with_database(server, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = _with_database(server, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


async def _drop_database(server: str, name: str) -> None:
    admin = await asyncpg.connect(_with_database(server, "postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


if __name__ == "__main__":  # pragma: no cover - manual runs: python -m deploy.bench.whatif 100000
    import sys

    print(json.dumps(run_simulation_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
