"""The event store behind one small interface: append with expected versions, read a stream, read all.

Appends that arrive together in one process are written in one call to `lentur_append` (group commit):
the global lock that keeps positions gap-free is then taken once per batch instead of once per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from contracts.canonical import normalise
from contracts.common import PolicyRef
from contracts.events import EventEnvelope, EventPayload
from eventstore.chain import CONTENT_FIELDS, content_hash

log = structlog.get_logger(__name__)

ANY_VERSION = -1
NO_STREAM = 0
MAX_BATCH_EVENTS = 500


class StoreError(Exception):
    pass


class ConcurrencyError(StoreError):
    """A stream was not at the version the writer expected."""


class IdempotencyConflict(StoreError):
    """An event id is already stored with different content."""


@dataclass(frozen=True)
class NewEvent:
    event_id: UUID
    stream_id: str
    type: str
    schema_version: int
    payload: dict[str, Any]
    occurred_at: datetime
    actor: str
    correlation_id: str
    on_behalf_of: str | None = None
    causation_id: str | None = None
    policy: dict[str, Any] | None = None
    clock: str = "real"

    @classmethod
    def of(
        cls,
        payload: EventPayload,
        *,
        event_id: UUID,
        stream_id: str,
        occurred_at: datetime,
        actor: str,
        correlation_id: str,
        on_behalf_of: str | None = None,
        causation_id: str | None = None,
        policy: PolicyRef | None = None,
        clock: str = "real",
    ) -> NewEvent:
        return cls(
            event_id=event_id,
            stream_id=stream_id,
            type=payload.TYPE,
            schema_version=payload.SCHEMA_VERSION,
            payload=payload.model_dump(mode="json"),
            occurred_at=occurred_at,
            actor=actor,
            correlation_id=correlation_id,
            on_behalf_of=on_behalf_of,
            causation_id=causation_id,
            policy=policy.model_dump(mode="json") if policy else None,
            clock=clock,
        )

    def content_fields(self) -> dict[str, Any]:
        """The fields the content hash covers (chain.CONTENT_FIELDS), in their stored form."""
        fields: dict[str, Any] = normalise({name: getattr(self, name) for name in CONTENT_FIELDS})
        return fields


@dataclass
class AppendUnit:
    """Events that must be stored together or not at all, with the versions their streams must be at."""

    events: Sequence[NewEvent]
    expected: dict[str, int] = field(default_factory=dict)

    def expected_for(self, stream_id: str) -> int:
        return self.expected.get(stream_id, ANY_VERSION)


@dataclass(frozen=True)
class Appended:
    event_id: UUID
    stream_id: str
    version: int
    position: int
    hash: str
    duplicate: bool


_EVENT_COLUMNS = (
    "position, event_id, stream_id, version, type, schema_version, occurred_at, recorded_at, actor, "
    "on_behalf_of, correlation_id, causation_id, policy, clock, payload, content_hash, prev_hash, hash, "
    "chain_hash"
)


def envelope_from_row(row: asyncpg.Record | dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        position=row["position"],
        type=row["type"],
        schema_version=row["schema_version"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        on_behalf_of=row["on_behalf_of"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        policy=row["policy"],
        clock=row["clock"],
        payload=row["payload"],
        content_hash=row["content_hash"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        chain_hash=row["chain_hash"],
    )


class PostgresEventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._queue: list[tuple[AppendUnit, asyncio.Future[list[Appended]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    # -- writing --------------------------------------------------------------------------------------

    async def append(self, unit: AppendUnit) -> list[Appended]:
        if not unit.events:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Appended]] = loop.create_future()
        self._queue.append((unit, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_loop())
        return await future

    async def _flush_loop(self) -> None:
        while self._queue:
            batch: list[tuple[AppendUnit, asyncio.Future[list[Appended]]]] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0][0].events) <= MAX_BATCH_EVENTS):
                item = self._queue.pop(0)
                batch.append(item)
                size += len(item[0].events)
            try:
                results = await self._append_batch([unit for unit, _ in batch])
            except Exception as exc:  # the whole call failed: every caller in the batch hears about it
                log.error("append_failed", units=len(batch), error=str(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for index, (_, future) in enumerate(batch):
                if future.done():
                    continue
                outcome = results[index]
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _append_batch(self, units: list[AppendUnit]) -> list[list[Appended] | Exception]:
        # lentur_append takes one array per column: the unit, its expected version, the content fields in
        # CONTENT_FIELDS order, then the content hash.
        columns: dict[str, list[Any]] = {name: [] for name in ("unit", "expected", *CONTENT_FIELDS, "content_hash")}
        for index, unit in enumerate(units):
            for event in unit.events:
                columns["unit"].append(index)
                columns["expected"].append(unit.expected_for(event.stream_id))
                for name in CONTENT_FIELDS:
                    columns[name].append(getattr(event, name))
                columns["content_hash"].append(content_hash(event.content_fields()))
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM lentur_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                *columns.values(),
            )
        outcomes: list[list[Appended] | Exception] = [[] for _ in units]
        for row in rows:
            index = row["unit"]
            status = row["status"]
            if status == "version_conflict":
                outcomes[index] = ConcurrencyError(row["detail"])
            elif status == "id_conflict":
                outcomes[index] = IdempotencyConflict(row["detail"])
            else:
                current = outcomes[index]
                assert isinstance(current, list)
                current.append(
                    Appended(
                        event_id=row["event_id"],
                        stream_id=row["stream_id"],
                        version=row["version"],
                        position=row["position"],
                        hash=row["hash"],
                        duplicate=status == "duplicate",
                    )
                )
        return outcomes

    # -- reading --------------------------------------------------------------------------------------

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[EventEnvelope]:
        rows = await self._pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version",
            stream_id,
            after_version,
        )
        return [envelope_from_row(r) for r in rows]

    async def read_all(self, *, after: int = 0, limit: int = 1000, up_to: int | None = None) -> list[EventEnvelope]:
        if up_to is None:
            rows = await self._pool.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                after,
                limit,
            )
        else:
            rows = await self._pool.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > $1 AND position <= $2 "
                "ORDER BY position LIMIT $3",
                after,
                up_to,
                limit,
            )
        return [envelope_from_row(r) for r in rows]

    async def stream_version(self, stream_id: str) -> int:
        version = await self._pool.fetchval(
            "SELECT version FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1", stream_id
        )
        return int(version or 0)

    async def last_event(self, stream_id: str) -> EventEnvelope | None:
        row = await self._pool.fetchrow(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
            stream_id,
        )
        return envelope_from_row(row) if row else None

    async def head_position(self) -> int:
        return int(await self._pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))
