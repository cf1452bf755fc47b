"""Sequential scans of the whole log, fast enough for verify and rebuild over millions of events.

Three things make a scan fast: JSON columns arrive as text and are parsed by orjson in one call each (a
per-value codec costs more than the parsing), one repeatable-read snapshot is read in batches through a
server-side cursor, and the next batch is requested before the current one is handed out, so Postgres reads
and encodes it on its own core while this process hashes or folds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from contracts.canonical import loads
from contracts.common import PolicyRef
from contracts.events import EventEnvelope

# Timestamps as the canonical text the hashes cover (lentur_ts is the store's own formatter).
VERIFY_COLUMNS = (
    "position, event_id::text AS event_id, stream_id, version, type, schema_version, "
    "lentur_ts(occurred_at) AS occurred_at, lentur_ts(recorded_at) AS recorded_at, actor, on_behalf_of, "
    "correlation_id, causation_id, policy::text AS policy, clock, payload::text AS payload, content_hash, "
    "prev_hash, hash, chain_hash"
)
# Timestamps as datetimes, for folding into read models.
FOLD_COLUMNS = (
    "position, event_id, stream_id, version, type, schema_version, occurred_at, recorded_at, actor, "
    "on_behalf_of, correlation_id, causation_id, policy::text AS policy, clock, payload::text AS payload, "
    "content_hash, prev_hash, hash, chain_hash"
)


async def scan(
    pool: asyncpg.Pool,
    columns: str,
    *,
    after: int = 0,
    up_to: int | None = None,
    batch_size: int = 5000,
    where: str = "",
    args: tuple[Any, ...] = (),
) -> AsyncIterator[list[asyncpg.Record]]:
    """Batches of rows with after < position <= up_to (and `where`, whose parameters start at $3), in
    position order, from one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL statement_timeout = 0")
        batches = scan_in(conn, columns, after=after, up_to=up_to, batch_size=batch_size, where=where, args=args)
        async for rows in batches:
            yield rows


async def scan_in(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
    columns: str,
    *,
    after: int = 0,
    up_to: int | None = None,
    batch_size: int = 5000,
    where: str = "",
    args: tuple[Any, ...] = (),
) -> AsyncIterator[list[asyncpg.Record]]:
    """`scan` inside a transaction the caller holds (one that imported another's snapshot, say)."""
    condition = f" AND ({where})" if where else ""
    query = f"SELECT {columns} FROM events WHERE position > $1 AND position <= $2{condition} ORDER BY position"
    limit = up_to if up_to is not None else 2**62
    cursor = await conn.cursor(query, after, limit, *args)
    pending: asyncio.Future[list[asyncpg.Record]] = asyncio.ensure_future(cursor.fetch(batch_size))
    try:
        while True:
            rows = await pending
            if not rows:
                return
            pending = asyncio.ensure_future(cursor.fetch(batch_size))
            await asyncio.sleep(0)  # let the request for the next batch go out before we work on this one
            yield rows
    finally:
        if not pending.done():
            with contextlib.suppress(Exception):
                await pending


# Every field is set; one shared set serves all envelopes (pydantic copies it before changing a copy's).
_ENVELOPE_FIELDS = set(EventEnvelope.model_fields)
_set_attribute = object.__setattr__


def _envelope(values: dict[str, Any]) -> EventEnvelope:
    # What `model_construct` does, minus its per-field bookkeeping: these rows were written from validated
    # models, and a rebuild builds a million of them.
    envelope = EventEnvelope.__new__(EventEnvelope)
    _set_attribute(envelope, "__dict__", values)
    _set_attribute(envelope, "__pydantic_fields_set__", _ENVELOPE_FIELDS)
    _set_attribute(envelope, "__pydantic_extra__", None)
    _set_attribute(envelope, "__pydantic_private__", None)
    return envelope


class EnvelopeReader:
    """Rows in FOLD_COLUMNS order → envelopes; a log names few policies, so each is parsed once."""

    def __init__(self) -> None:
        self._policies: dict[str, PolicyRef] = {}

    def policy(self, text: str | None) -> PolicyRef | None:
        if text is None:
            return None
        found = self._policies.get(text)
        if found is None:
            found = self._policies[text] = PolicyRef.model_validate(loads(text))
        return found

    def envelope(self, r: asyncpg.Record) -> EventEnvelope:
        return _envelope(
            {
                "event_id": r[1],
                "stream_id": r[2],
                "version": r[3],
                "position": r[0],
                "type": r[4],
                "schema_version": r[5],
                "occurred_at": r[6],
                "recorded_at": r[7],
                "actor": r[8],
                "on_behalf_of": r[9],
                "correlation_id": r[10],
                "causation_id": r[11],
                "policy": self.policy(r[12]),
                "clock": r[13],
                "payload": loads(r[14]),
                "content_hash": r[15],
                "prev_hash": r[16],
                "hash": r[17],
                "chain_hash": r[18],
            }
        )


async def scan_envelopes(
    pool: asyncpg.Pool,
    *,
    after: int = 0,
    up_to: int | None = None,
    batch_size: int = 5000,
    where: str = "",
    args: tuple[Any, ...] = (),
) -> AsyncIterator[list[EventEnvelope]]:
    reader = EnvelopeReader()
    envelope = reader.envelope
    async for rows in scan(pool, FOLD_COLUMNS, after=after, up_to=up_to, batch_size=batch_size, where=where, args=args):
        yield [envelope(r) for r in rows]
