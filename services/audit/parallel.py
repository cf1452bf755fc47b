"""Verification of a large log on several cores, with the report a single pass would give.

The log is cut into contiguous segments, each verified in a process of its own; all of them read one snapshot,
exported by the transaction that planned them. Every check of an event needs only its own row and stored
values before it (the previous position's chain hash, its stream's previous hash), so a segment starts from
the stored chain hash at its boundary, which the segment before it checks as its last event. What crosses
segments is settled here, in position order:
- a stream's first event in a segment must follow its last event in an earlier segment (or start the stream);
- checkpoints are checked against the chain hashes at the positions they sign, which by then are verified;
- of all failures, the one reported is the one a single pass meets first.
Each segment pays for a fresh interpreter that imports this module, which a small log does not earn back;
`verify_store` uses segments from `PARALLEL_MIN_EVENTS` on when it is given workers (on two cores, 1M events
verified 1.4x as fast as in one pass in the same run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from eventstore.scan import VERIFY_COLUMNS, scan_in
from services.audit.rows import Policy, feed_rows
from services.audit.verify import (
    CHECKPOINT_REACH,
    ChainVerifier,
    Check,
    VerifyReport,
    stream_link_problem,
    stream_start_problem,
)

PARALLEL_MIN_EVENTS = 300_000


@dataclass(frozen=True)
class Segment:
    after: int
    after_chain_hash: str | None
    up_to: int


@dataclass
class SegmentResult:
    report: VerifyReport
    failed_check: Check | None
    failed_while_at: int | None
    first_links: dict[str, tuple[int, int, str | None]]
    heads: dict[str, tuple[int, str]]
    checkpoints: list[tuple[int, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Failure:
    while_at: int  # the event being checked when it was found
    check: Check
    position: int  # the first bad position it reports
    reason: str

    @property
    def order(self) -> tuple[int, int]:
        """Where a single pass would meet it: at that event, at that check."""
        return self.while_at, int(self.check)


def verify_segment(dsn: str, snapshot: str, segment: Segment) -> SegmentResult:
    """One segment, in a process of its own (the entry point the pool calls)."""
    return asyncio.run(_verify_segment(dsn, snapshot, segment))


async def _verify_segment(dsn: str, snapshot: str, segment: Segment) -> SegmentResult:
    verifier = ChainVerifier(
        start_position=segment.after,
        start_chain_hash=segment.after_chain_hash,
        trust_stream_starts=True,
        defer_checkpoints=True,
    )
    policies: dict[str, Policy] = {}
    conn = await _connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await conn.execute(f"SET TRANSACTION SNAPSHOT '{_snapshot_id(snapshot)}'")
            await conn.execute("SET LOCAL statement_timeout = 0")
            async for rows in scan_in(conn, VERIFY_COLUMNS, after=segment.after, up_to=segment.up_to):
                feed_rows(verifier, rows, policies)
            if verifier.report.ok and verifier.report.head_position < segment.up_to:
                # The segment's last positions are missing: say so as a single pass would, naming the next one
                # (which the next segment checks and counts).
                found = await conn.fetchval("SELECT min(position) FROM events WHERE position > $1", segment.up_to)
                if found is not None:
                    verifier.out_of_order(int(found))
    finally:
        await conn.close()
    return SegmentResult(
        report=verifier.report,
        failed_check=verifier.failed_check,
        failed_while_at=verifier.failed_while_at,
        first_links=verifier.first_links,
        heads=verifier.stream_heads,
        checkpoints=verifier.deferred_checkpoints,
    )


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"application_name": "lentur-verify", "timezone": "UTC"})


def _snapshot_id(text: str) -> str:
    """An exported snapshot's id goes into SQL as a literal (SET TRANSACTION takes no parameters)."""
    if not all(c.isalnum() or c == "-" for c in text):
        raise ValueError(f"not a snapshot id: {text!r}")
    return text


def plan(after: int, head: int, workers: int) -> list[tuple[int, int]]:
    """(after, up_to] ranges of about equal size that cover (after, head]."""
    count = max(1, min(workers, head - after))
    bounds = [after + (head - after) * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(count)]


async def verify_in_segments(
    dsn: str,
    *,
    workers: int,
    trusted_keys: Mapping[str, str] | None = None,
    after: int = 0,
    after_chain_hash: str | None = None,
    up_to: int | None = None,
    executor: Executor | None = None,
) -> VerifyReport:
    """Verify (after, up_to] in `workers` segments at once; the same report as `ChainVerifier` over it all.

    Segments run in fresh processes unless an `executor` is given (the tests run many small logs in threads)."""
    conn = await _connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = str(await conn.fetchval("SELECT pg_export_snapshot()"))
            head = int(
                await conn.fetchval(
                    "SELECT coalesce(max(position), 0) FROM events WHERE position <= $1",
                    up_to if up_to is not None else 2**62,
                )
            )
            ranges = plan(after, max(head, after), workers)
            boundaries = [start for start, _ in ranges[1:]]
            stored = await _chain_hashes(conn, boundaries)
            segments = [
                Segment(start, after_chain_hash if start == after else stored.get(start), end) for start, end in ranges
            ]
            loop = asyncio.get_running_loop()
            # A fresh interpreter per segment: nothing of this process's event loop or connections goes along.
            own = executor is None
            pool = executor or ProcessPoolExecutor(len(segments), mp_context=multiprocessing.get_context("spawn"))
            try:
                results = await asyncio.gather(
                    *(loop.run_in_executor(pool, verify_segment, dsn, snapshot, s) for s in segments)
                )
            finally:
                if own:
                    pool.shutdown()
            # The chain hashes checkpoints sign (and at each checkpoint), read in the same snapshot.
            wanted = [p for r in results for cp in r.checkpoints for p in (cp[0], _signed_position(cp[1]))]
            stored |= await _chain_hashes(conn, [p for p in wanted if p is not None])
    finally:
        await conn.close()
    return stitch(
        results,
        after=after,
        after_chain_hash=after_chain_hash,
        trusted_keys=trusted_keys,
        stored_chain=stored,
    )


async def _chain_hashes(conn: asyncpg.Connection, positions: Sequence[int]) -> dict[int, str]:
    if not positions:
        return {}
    rows = await conn.fetch(
        "SELECT position, chain_hash FROM events WHERE position = ANY($1::bigint[])", sorted(set(positions))
    )
    return {int(r["position"]): r["chain_hash"] for r in rows}


def _signed_position(payload: Any) -> int | None:
    try:
        return int(payload["up_to_position"])
    except (KeyError, TypeError, ValueError):
        return None


def stitch(
    results: Sequence[SegmentResult],
    *,
    after: int,
    after_chain_hash: str | None,
    trusted_keys: Mapping[str, str] | None,
    stored_chain: Mapping[int, str],
) -> VerifyReport:
    """The segments' results as one report (pure: the tests hold it to a single pass)."""
    trust_starts = after > 0
    failures: list[Failure] = []
    failing: dict[Failure, SegmentResult] = {}
    heads: dict[str, tuple[int, str]] = {}
    first_seen: dict[str, int] = {}
    for result in results:
        if not result.report.ok:
            assert result.failed_check is not None and result.failed_while_at is not None
            failure = Failure(
                result.failed_while_at,
                result.failed_check,
                int(result.report.first_bad_position or 0),
                result.report.reason or "",
            )
            failures.append(failure)
            failing[failure] = result
        for stream, (position, version, prev_hash) in result.first_links.items():
            first_seen.setdefault(stream, position)
            head = heads.get(stream)
            if head is None:
                problem = None if trust_starts else stream_start_problem(stream, version, prev_hash)
            else:
                problem = stream_link_problem(stream, head, version, prev_hash)
            if problem is not None:
                failures.append(Failure(position, Check.LINK, position, problem))
        heads.update(result.heads)
    first = min(failures, key=lambda f: f.order) if failures else None

    # Checkpoints in position order, as a single pass meets them, until the first failure.
    final = ChainVerifier(
        start_position=after,
        start_chain_hash=after_chain_hash,
        trust_stream_starts=trust_starts,
        trusted_keys=trusted_keys,
    )
    for position, payload in sorted((cp for r in results for cp in r.checkpoints), key=lambda cp: cp[0]):
        if first is not None and first.order < (position, int(Check.CHECKPOINT)):
            break
        final.check_checkpoint(position, payload, _recall(position, after, after_chain_hash, stored_chain))
        if not final.report.ok:
            first = Failure(position, Check.CHECKPOINT, int(final.report.first_bad_position or 0), "")
            break
    report = final.finish()
    report.events_checked = sum(r.report.events_checked for r in results)
    if first is None:
        report.streams_checked = len(heads)
        last = results[-1].report
        report.head_position, report.head_chain_hash = last.head_position, last.head_chain_hash
        return report
    # A single pass stops at the failing check; a checkpoint's own event was verified before its signature was.
    verified_up_to = first.while_at if first.check == Check.CHECKPOINT else first.while_at - 1
    report.streams_checked = sum(1 for position in first_seen.values() if position <= verified_up_to)
    if first.check == Check.CHECKPOINT:
        report.head_position, report.head_chain_hash = first.while_at, stored_chain.get(first.while_at)
        return report  # `final` has reported it, with its suspect range
    report.ok, report.first_bad_position, report.reason = False, first.position, first.reason
    source = failing.get(first)
    if source is not None:
        report.head_position, report.head_chain_hash = source.report.head_position, source.report.head_chain_hash
    else:  # a broken link between segments: everything before it checked out
        report.head_position = first.while_at - 1
        report.head_chain_hash = stored_chain.get(report.head_position)
    return report


def _recall(
    position: int, after: int, after_chain_hash: str | None, stored_chain: Mapping[int, str]
) -> Callable[[int], tuple[bool, str | None]]:
    """What a single pass would still remember at `position`: the chain hashes of the last CHECKPOINT_REACH
    positions (and the starting one), all verified by then."""

    def recall(up_to: int) -> tuple[bool, str | None]:
        if not (up_to >= after and position - up_to < CHECKPOINT_REACH):
            return False, None
        return True, after_chain_hash if up_to == after else stored_chain.get(up_to)

    return recall
