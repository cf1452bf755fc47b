"""Running a simulation against the event store: read the log in position order, feed the pure simulator.

Only the event types the simulator reads are fetched, in pages by position, up to a fixed position so the
same store gives the same report even while new events arrive. Folding runs in a worker thread batch by
batch, so an API process keeps answering other calls while a season is replayed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import asyncpg

from contracts.events import EVENT_TYPES
from contracts.upcasting import UPCASTERS
from eventstore.db import create_pool
from policy.bundled import bundled_pack_texts
from policy.packs import LoadedPack, PackSet
from services.whatif.history import DraftConflict
from services.whatif.report import build_report
from services.whatif.simulator import Fidelity, LogEvent, Period, Rejudged, Simulation

READ_TYPES = (
    "PolicyPackPublished",
    "DirectoryImported",
    "RequestSubmitted",
    "RouteDetermined",
    "RequestReturned",
    "RequestResubmitted",
    "RequestApproved",
    "RequestRejected",
    "RequestCancelled",
    "RequestExpired",
    "QuotaReserved",
    "QuotaReleased",
    "LeaveAttachmentsStored",
)
# Unit-cap slots are re-counted by the simulator itself; only annual-leave quota events are read.
_READ_SQL = """
SELECT position, type, schema_version, occurred_at, policy, payload
FROM events
WHERE position > $1 AND position <= $2 AND type = ANY($3::text[])
  AND (type NOT IN ('QuotaReserved', 'QuotaReleased') OR payload->>'quota' LIKE 'annual-leave:%')
ORDER BY position
LIMIT $4
"""
PAGE = 5000
# Below this many events a second process costs more to start than it saves.
PARALLEL_FROM_EVENTS = 200_000

Items = Literal["all", "changed", "none"]


@dataclass(frozen=True)
class SimulationSpec:
    draft: LoadedPack
    period: Period
    regions: frozenset[str] | None
    up_to_position: int | None = None
    items: Items = "all"
    verify: bool = True
    list_all_up_to: int | None = None


def scope_for(draft: LoadedPack, caller_region: str | None) -> frozenset[str] | None:
    """A regional draft can only change its own region; the national baseline is shown for one region at a
    time when a caller is named (an inspector sees their own region), otherwise for every region."""
    if not draft.is_baseline and draft.pack.region:
        return frozenset({draft.pack.region})
    return frozenset({caller_region}) if caller_region else None


def check_draft_fits(draft: LoadedPack, packs_in_force: PackSet) -> None:
    """Refuse early, before the log is read, a draft that cannot sit next to the packs in force."""
    try:
        packs_in_force.with_pack(draft)
    except ValueError as exc:
        raise DraftConflict(str(exc)) from exc


__all__ = [
    "DraftConflict",
    "SimulationSpec",
    "check_draft_fits",
    "check_fidelity",
    "read_log",
    "scope_for",
    "simulate",
    "store_head",
]


async def store_head(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))


async def read_log(pool: asyncpg.Pool, *, up_to: int, page: int = PAGE) -> AsyncIterator[list[LogEvent]]:
    after = 0
    while True:
        rows = await pool.fetch(_READ_SQL, after, up_to, list(READ_TYPES), page)
        if not rows:
            return
        yield [
            LogEvent(
                position=r["position"],
                type=r["type"],
                occurred_at=r["occurred_at"],
                policy=r["policy"],
                payload=_upcast(r["type"], r["schema_version"], r["payload"]),
            )
            for r in rows
        ]
        after = rows[-1]["position"]


def _upcast(event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    current = EVENT_TYPES.get(event_type)
    while current is not None and schema_version < current.SCHEMA_VERSION:
        payload = UPCASTERS[(event_type, schema_version)](dict(payload))
        schema_version += 1
    return payload


async def simulate(
    pool: asyncpg.Pool,
    spec: SimulationSpec,
    *,
    database_url: str | None = None,
    parallel: bool | None = None,
    on_rejudged: Rejudged | None = None,
) -> dict[str, Any]:
    """Replay the store up to a position under the draft; writes nothing.

    With `database_url`, a large store is checked for fidelity in a second process (its own connection,
    the same log) while this one folds the draft's world; both halves are pure folds of the same events,
    so the report is the same either way — only faster on a machine with two cores.
    """
    head = spec.up_to_position if spec.up_to_position is not None else await store_head(pool)
    split = (
        spec.verify
        and on_rejudged is None
        and database_url is not None
        and (parallel if parallel is not None else head >= PARALLEL_FROM_EVENTS)
    )
    simulation = Simulation(
        draft=spec.draft,
        period=spec.period,
        regions=spec.regions,
        bundled_pack_texts=bundled_pack_texts().values(),
        verify=spec.verify and not split,
        on_rejudged=on_rejudged,
    )
    if split:
        assert database_url is not None
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as workers:
            checking = loop.run_in_executor(workers, check_fidelity, database_url, head, spec.regions)
            try:
                await _fold(pool, simulation, head)
            finally:
                fidelity = await checking
        simulation.adopt(fidelity)
    else:
        await _fold(pool, simulation, head)
    report = await asyncio.to_thread(build_report, simulation, items=spec.items, list_all_up_to=spec.list_all_up_to)
    report["up_to_position"] = head
    return report


async def _fold(pool: asyncpg.Pool, simulation: Simulation, head: int) -> None:
    # Fold page n in a worker thread while page n+1 is being read.
    folding: asyncio.Future[None] | None = None
    async for page in read_log(pool, up_to=head):
        if folding is not None:
            await folding
        folding = asyncio.ensure_future(asyncio.to_thread(simulation.feed_all, page))
    if folding is not None:
        await folding


def check_fidelity(database_url: str, up_to: int, regions: frozenset[str] | None) -> Fidelity:
    """Run in a worker process: judge every recorded decision again as the live service did."""

    async def run() -> Fidelity:
        pool = await create_pool(database_url, min_size=1, max_size=1, application_name="lentur-whatif-check")
        try:
            checker = Simulation(
                draft=None,
                period=Period(date.min, date.min),
                regions=regions,
                bundled_pack_texts=bundled_pack_texts().values(),
            )
            await _fold(pool, checker, up_to)
            return checker.fidelity()
        finally:
            await pool.close()

    return asyncio.run(run())
