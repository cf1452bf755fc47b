"""Verification of the live store: every event of one consistent snapshot, through the pure verifier."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg

from eventstore.scan import VERIFY_COLUMNS, scan
from services.audit.rows import Policy, feed_rows
from services.audit.verify import ChainVerifier, VerifyReport


async def verify_store(
    pool: asyncpg.Pool,
    *,
    trusted_keys: Mapping[str, str] | None = None,
    after: int = 0,
    after_chain_hash: str | None = None,
    up_to: int | None = None,
    batch_size: int = 5000,
    workers: int = 1,
    dsn: str | None = None,
    min_parallel_events: int | None = None,
) -> VerifyReport:
    """Verify (after, up_to]; from the first event unless a trusted chain hash at `after` is given.

    With `workers` > 1 and the database's `dsn`, a log of at least `min_parallel_events` (by default
    services.audit.parallel.PARALLEL_MIN_EVENTS) is verified in that many processes at once, with the same
    report (services/audit/parallel.py). The command line does that; the API verifies in one pass, in-process.
    """
    if workers > 1 and dsn is not None:
        from services.audit.parallel import PARALLEL_MIN_EVENTS, verify_in_segments

        head = int(await pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))
        last = head if up_to is None else min(head, up_to)
        threshold = PARALLEL_MIN_EVENTS if min_parallel_events is None else min_parallel_events
        if last - after >= max(threshold, workers):
            report = await verify_in_segments(
                dsn,
                workers=workers,
                trusted_keys=trusted_keys,
                after=after,
                after_chain_hash=after_chain_hash,
                up_to=up_to,
            )
            return _with_warnings(report, after)
    verifier = ChainVerifier(
        start_position=after,
        start_chain_hash=after_chain_hash,
        trust_stream_starts=after > 0,
        trusted_keys=trusted_keys,
    )
    policies: dict[str, Policy] = {}
    async for rows in scan(pool, VERIFY_COLUMNS, after=after, up_to=up_to, batch_size=batch_size):
        feed_rows(verifier, rows, policies)
    return _with_warnings(verifier.finish(), after)


def _with_warnings(report: VerifyReport, after: int) -> VerifyReport:
    if report.ok and report.checkpoints_checked == 0 and report.events_checked and after == 0:
        report.warnings.append("belum ada checkpoint bertanda tangan: penulisan ulang seluruh rantai tidak terdeteksi")
    return report


async def position_at(pool: asyncpg.Pool, moment: datetime) -> int:
    """The last position of the longest prefix of the log recorded at or before `moment`.

    Events are placed on the time line by their recording time; events recorded under a simulated clock (a
    drill) by their simulated time, since that is the time everything in the drill is shown in.
    """
    value = await pool.fetchval(
        "SELECT coalesce((SELECT min(position) - 1 FROM events WHERE "
        "(CASE WHEN clock = 'simulated' THEN occurred_at ELSE recorded_at END) > $1), "
        "(SELECT coalesce(max(position), 0) FROM events))",
        moment,
    )
    return int(value)
