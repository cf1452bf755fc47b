"""Verification in segments gives the report of a single pass: for an untouched log and for every kind of
tampering the single pass is tested against, with segment boundaries falling before, on and after the change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from eventstore.db import create_pool
from services.audit.parallel import verify_in_segments
from services.audit.service import verify_store
from services.audit.verify import VerifyReport

# The realistic log with two signed checkpoints that the single pass is tested on (its fixtures, `template` and
# `tampered`, come through tests/integration/conftest.py).
from tests.integration.audit_log import TRUSTED, decision_position, rewrite_consistently

Tamper = Callable[[asyncpg.Connection, dict[str, Any]], Awaitable[None]]


async def untouched(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
    return None


def changed(change: str) -> Tamper:
    async def tamper(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
        victim = await decision_position(conn, log["first"].up_to_position)
        await conn.execute(f"UPDATE events SET {change} WHERE position = $1", victim)

    return tamper


def deleted(where: Callable[[dict[str, Any]], int]) -> Tamper:
    async def tamper(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
        await conn.execute("DELETE FROM events WHERE position = $1", where(log))

    return tamper


async def swapped(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
    async with conn.transaction():
        await conn.execute("UPDATE events SET position = -1 WHERE position = 40")
        await conn.execute("UPDATE events SET position = 40 WHERE position = 41")
        await conn.execute("UPDATE events SET position = 41 WHERE position = -1")


async def link_broken_mid_stream(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
    """A later event of a request whose earlier events lie in another segment now points elsewhere."""
    position = await conn.fetchval(
        "SELECT position FROM events WHERE version > 1 AND position > $1 ORDER BY position LIMIT 1",
        log["head"] // 2,
    )
    await conn.execute("UPDATE events SET prev_hash = repeat('0', 64) WHERE position = $1", position)


async def rewritten_before_the_first_checkpoint(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
    await rewrite_consistently(conn, await decision_position(conn, log["first"].up_to_position))


async def rewritten_after_the_first_checkpoint(conn: asyncpg.Connection, log: dict[str, Any]) -> None:
    await rewrite_consistently(conn, await decision_position(conn, log["second"].up_to_position))


TAMPERS: dict[str, Tamper] = {
    "untouched": untouched,
    "payload": changed("payload = jsonb_set(payload, '{decision}', '\"reject\"')"),
    "actor": changed("actor = '199505042021012163'"),
    "recorded_at": changed("recorded_at = recorded_at + interval '1 microsecond'"),
    "pack": changed("policy = jsonb_set(policy, '{version}', '\"9.9\"')"),
    "version": changed("version = version + 1000"),
    "swapped": swapped,
    "deleted_early": deleted(lambda t: 77),
    "deleted_at_half": deleted(lambda t: t["head"] // 2),
    "deleted_after_half": deleted(lambda t: t["head"] // 2 + 1),
    "deleted_last": deleted(lambda t: t["head"]),
    "link_broken": link_broken_mid_stream,
    "rewritten_whole": rewritten_before_the_first_checkpoint,
    "rewritten_after_first_checkpoint": rewritten_after_the_first_checkpoint,
}
COMPARED = (
    "ok",
    "events_checked",
    "first_bad_position",
    "reason",
    "streams_checked",
    "head_position",
    "head_chain_hash",
    "checkpoints_checked",
    "last_checkpoint",
    "signers",
    "suspect_range",
    "warnings",
)


def summary(report: VerifyReport) -> dict[str, Any]:
    return {name: getattr(report, name) for name in COMPARED}


@pytest.mark.parametrize("name", list(TAMPERS))
async def test_segments_report_what_a_single_pass_reports(tampered, template: dict, name: str) -> None:
    conn, pool = tampered
    await TAMPERS[name](conn, template)
    url = pool._connect_args[0]
    single = await verify_store(pool, trusted_keys=TRUSTED)
    # Cutting off the log's last event (here the second checkpoint) leaves a shorter log that is whole: only an
    # outside record of the head, such as a published checkpoint, can tell.
    assert single.ok == (name in ("untouched", "deleted_last")), single.reason
    with ThreadPoolExecutor(8) as threads:
        for workers in (2, 3, 7):
            parts = await verify_in_segments(url, workers=workers, trusted_keys=TRUSTED, executor=threads)
            assert summary(parts) == summary(single), f"{name}, {workers} segments"


async def test_a_verified_range_and_a_limit_are_honoured_in_segments(template: dict) -> None:
    pool = await create_pool(template["url"], min_size=1, max_size=2)
    try:
        first = template["first"]
        up_to = template["second"].up_to_position
        single = await verify_store(
            pool, trusted_keys=TRUSTED, after=first.up_to_position, after_chain_hash=first.chain_hash, up_to=up_to
        )
        with ThreadPoolExecutor(4) as threads:
            parts = await verify_in_segments(
                template["url"],
                workers=4,
                trusted_keys=TRUSTED,
                after=first.up_to_position,
                after_chain_hash=first.chain_hash,
                up_to=up_to,
                executor=threads,
            )
    finally:
        await pool.close()
    assert single.ok and summary(parts) == summary(single)
    assert parts.events_checked == up_to - first.up_to_position


async def test_the_command_lines_way_runs_segments_in_processes_of_their_own(tampered, template: dict) -> None:
    conn, pool = tampered
    await conn.execute("UPDATE events SET actor = '199505042021012163' WHERE position = $1", template["head"] - 3)
    single = await verify_store(pool, trusted_keys=TRUSTED)
    parts = await verify_store(pool, trusted_keys=TRUSTED, workers=2, dsn=pool._connect_args[0], min_parallel_events=0)
    assert summary(parts) == summary(single)
    assert not parts.ok and parts.first_bad_position == template["head"] - 3
