"""Runs projections with exactly-once effects over at-least-once delivery.

Each batch is applied in one transaction together with the projection's checkpoint row, which moves only
from the position the batch was applied after (a compare-and-set): a replica, a rebuild or a stale memory
that moved it meanwhile makes the statement match nothing, the transaction rolls back and the batch is
tried again from the row's position, so several replicas are safe. The runner remembers the position it
last committed, so a batch costs no read of the row. Events at or below the checkpoint are duplicates and
skipped; a gap before the first delivered event is filled from the store, so reordered or lost deliveries
cannot skip an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import asyncpg
import structlog

from contracts.events import EventEnvelope
from contracts.upcasting import upcast
from eventstore.store import PostgresEventStore

log = structlog.get_logger(__name__)
PROJECTION_CHANNEL = "lentur_projection"


Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


class Projection(Protocol):
    name: str

    async def apply_batch(self, conn: Connection, events: list[EventEnvelope]) -> None: ...


def consumed_types(projection: Projection) -> frozenset[str] | None:
    """The event types a projection acts on, when it says (a `consumes` attribute); None means every type."""
    consumes: frozenset[str] | None = getattr(projection, "consumes", None)
    return consumes


def missed_up_to(head: int, previous_head: int | None) -> int:
    """The last position a projection's safety net should have seen applied by now, from the store's head at
    this look and at the previous one (None at the first look after a start, when all of it counts).

    Only events that were already in the store at the previous look count as missed: under load the head is
    always a few events ahead, on their way through the relay, and catching those up as well races every
    delivery for the same checkpoint."""
    return head if previous_head is None else min(head, previous_head)


class _CheckpointMoved(Exception):
    """The checkpoint was not where this runner last left it: roll back and apply from where it is."""


class ProjectionRunner:
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, projection: Projection) -> None:
        self.pool = pool
        self.store = store
        self.projection = projection
        self._lock = asyncio.Lock()
        self.applied = 0
        self.duplicates_skipped = 0
        self.gaps_filled = 0
        self.conflicts = 0
        self._known: int | None = None  # the position this runner last committed or read

    @property
    def name(self) -> str:
        return self.projection.name

    async def checkpoint(self) -> int:
        value = await self.pool.fetchval("SELECT position FROM projection_checkpoints WHERE name = $1", self.name)
        return int(value or 0)

    async def deliver(self, delivered: Sequence[EventEnvelope]) -> int:
        """Apply what was delivered (in any order, possibly repeated); returns the new checkpoint."""
        consumes = consumed_types(self.projection)
        if consumes is not None and delivered and not any(e.type in consumes for e in delivered):
            async with self._lock:
                moved = await self._pass_over(delivered)
            if moved is not None:
                return moved
        async with self._lock:
            while True:  # each conflict reads the row again; once another writer has applied it all, it returns
                try:
                    return await self._apply(delivered)
                except _CheckpointMoved:
                    self.conflicts += 1
                    self._known = None

    async def _apply(self, delivered: Sequence[EventEnvelope]) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            checkpoint = self._known if self._known is not None else await self._read_checkpoint(conn)
            by_position = {e.position: e for e in delivered if e.position > checkpoint}
            if not by_position and self._known is not None:  # memory says all of it is applied: make sure
                checkpoint = await self._read_checkpoint(conn)
                by_position = {e.position: e for e in delivered if e.position > checkpoint}
            skipped = len(delivered) - len(by_position)
            if not by_position:
                self._known = checkpoint
                self.duplicates_skipped += skipped
                return checkpoint
            highest = max(by_position)
            filled = 0
            if len(by_position) != highest - checkpoint:  # a hole: fill it from the source of truth
                missing = await self.store.read_all(after=checkpoint, up_to=highest, limit=highest - checkpoint)
                filled = sum(1 for e in missing if e.position not in by_position)
                by_position.update({e.position: e for e in missing})
            events = [upcast(by_position[p]) for p in sorted(by_position)]
            if [e.position for e in events] != list(range(checkpoint + 1, highest + 1)):
                raise RuntimeError(f"{self.name}: store has no events between {checkpoint} and {highest}")
            await self.projection.apply_batch(conn, events)
            moved = await conn.fetchval(
                "WITH moved AS (UPDATE projection_checkpoints SET position = $2 "
                "WHERE name = $1 AND position = $3 RETURNING position) "
                "SELECT position, pg_notify($4, $5) FROM moved",
                self.name,
                highest,
                checkpoint,
                PROJECTION_CHANNEL,
                f"{self.name}:{highest}",
            )
            if moved is None:
                raise _CheckpointMoved
        self._known = highest
        self.duplicates_skipped += skipped
        self.gaps_filled += filled
        self.applied += len(events)
        return highest

    async def _pass_over(self, delivered: Sequence[EventEnvelope]) -> int | None:
        """A batch of events this projection does not act on moves its checkpoint in one statement: only from
        just before the batch (or inside it, for a repeated delivery) to its end. Returns None when that is
        not the case (a hole before the batch, which may hide an event it acts on: the full path fills it)."""
        positions = {e.position for e in delivered}
        lowest, highest = min(positions), max(positions)
        if len(positions) != highest - lowest + 1:
            return None
        moved = await self.pool.fetchval(
            "WITH moved AS (UPDATE projection_checkpoints SET position = $3 "
            "WHERE name = $1 AND position >= $2 - 1 AND position < $3 RETURNING position) "
            "SELECT position, pg_notify($4, $5) FROM moved",
            self.name,
            lowest,
            highest,
            PROJECTION_CHANNEL,
            f"{self.name}:{highest}",
        )
        if moved is not None:
            self._known = highest
            self.applied += len(positions)
            return highest
        if await self.checkpoint() >= highest:  # delivered again after it was applied
            self.duplicates_skipped += len(delivered)
            return highest
        return None

    async def _read_checkpoint(self, conn: Connection) -> int:
        """The projection's position (created at 0 the first time)."""
        query = "SELECT position FROM projection_checkpoints WHERE name = $1"
        value = await conn.fetchval(query, self.name)
        if value is None:
            await conn.execute(
                "INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING", self.name
            )
            value = await conn.fetchval(query, self.name)
        return int(value)

    async def catch_up(self, *, batch_size: int = 2000) -> int:
        """Read straight from the store until the projection reaches the head."""
        position = await self.checkpoint()
        while True:
            events = await self.store.read_all(after=position, limit=batch_size)
            if not events:
                return position
            position = await self.deliver(events)
