"""What must hold after every fault: nothing lost, nothing doubled, projections equal to a rebuild, a sound
hash chain."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from eventstore.db import create_pool
from services.approvals.rebuild import rebuild_read_models
from services.approvals.state import TABLE_KEYS
from services.audit.service import verify_store
from tests.chaos.cluster import ChaosCluster


@dataclass
class StoreReport:
    events: int
    head: int
    lost: int
    duplicates: int
    problems: list[str] = field(default_factory=list)


async def request_shape(conn: asyncpg.Connection, request_id: str) -> list[str]:
    """The types of every event a request caused, in order (its own stream and its duties' stream)."""
    rows = await conn.fetch(
        "SELECT type FROM events WHERE stream_id = ANY($1::text[]) ORDER BY position",
        [f"request-{request_id}", f"compliance-request-{request_id}"],
    )
    return [r["type"] for r in rows]


async def check_store(
    cluster: ChaosCluster, requests: list[dict[str, Any]], expected: dict[str, list[str]]
) -> StoreReport:
    """Compares each request's events with the fault-free shape for its region."""
    async with cluster.connection() as conn:
        count, head = await conn.fetchrow("SELECT count(*), coalesce(max(position), 0) FROM events")
        report = StoreReport(events=int(count), head=int(head), lost=0, duplicates=0)
        if count != head:
            report.problems.append(f"positions are not gap-free: {count} events up to position {head}")
        for request in requests:
            shape = await request_shape(conn, str(request["id"]))
            want = Counter(expected[request["requester"]["region"]])
            have = Counter(shape)
            missing, extra = want - have, have - want
            report.lost += sum(missing.values())
            report.duplicates += sum(extra.values())
            if missing or extra:
                report.problems.append(f"{request['id']}: missing {dict(missing)}, extra {dict(extra)}")
        doubled = await conn.fetch(
            "SELECT payload->>'task_id' AS task, count(*) AS n FROM events WHERE type = 'DecisionRecorded' "
            "GROUP BY 1 HAVING count(*) > 1"
        )
        report.duplicates += sum(int(r["n"]) - 1 for r in doubled)
        if doubled:
            report.problems.append(f"tasks decided twice: {[r['task'] for r in doubled][:5]}")
    return report


async def converge(cluster: ChaosCluster, *, quiet: float = 1.0, timeout: float = 120) -> float:
    """Seconds until the relay and the projection have both reached the store's head, and the head has not
    moved for `quiet` seconds (an approved request's duties are scheduled by a child workflow just after)."""
    started = time.monotonic()
    settled_at: tuple[int, float] | None = None
    async with cluster.connection() as conn:
        while True:
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            checkpoint = await conn.fetchval("SELECT position FROM projection_checkpoints WHERE name = 'read-models'")
            relayed = await conn.fetchval("SELECT max(position) FROM relay_cursor")
            now = time.monotonic()
            if checkpoint == head and relayed == head:
                if settled_at is None or settled_at[0] != head:
                    settled_at = (head, now)
                elif now - settled_at[1] >= quiet:
                    return settled_at[1] - started
            if now - started > timeout:
                raise TimeoutError(f"head {head}, projection {checkpoint}, relay {relayed}")
            await asyncio.sleep(0.1)


async def await_shapes(
    cluster: ChaosCluster, requests: list[dict[str, Any]], expected: dict[str, list[str]], *, timeout: float = 90
) -> None:
    """Waits (bounded) until each request has as many events as a fault-free one; what is still missing
    then is reported as lost by `check_store`."""
    deadline = time.monotonic() + timeout
    async with cluster.connection() as conn:
        for request in requests:
            want = len(expected[request["requester"]["region"]])
            while len(await request_shape(conn, str(request["id"]))) < want and time.monotonic() < deadline:
                await asyncio.sleep(0.2)


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    tables = {}
    async with pool.acquire() as conn:
        for table, key in TABLE_KEYS.items():
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
            tables[table] = [dict(r) for r in rows]
    return tables


async def projections_match_rebuild(cluster: ChaosCluster) -> list[str]:
    """Differences between the live read models and a rebuild of them from the store alone."""
    pool = await create_pool(cluster.settings.database_url, min_size=1, max_size=2)
    try:
        live = await _snapshot(pool)
        await rebuild_read_models(pool)
        rebuilt = await _snapshot(pool)
    finally:
        await pool.close()
    differences = []
    for table in TABLE_KEYS:
        if live[table] != rebuilt[table]:
            only_live = [r for r in live[table] if r not in rebuilt[table]][:2]
            only_rebuilt = [r for r in rebuilt[table] if r not in live[table]][:2]
            differences.append(f"{table}: live-only {only_live} rebuilt-only {only_rebuilt}")
    return differences


async def audit_verifies(cluster: ChaosCluster) -> dict[str, Any]:
    pool = await create_pool(cluster.settings.database_url, min_size=1, max_size=1)
    try:
        return (await verify_store(pool)).as_dict()
    finally:
        await pool.close()
