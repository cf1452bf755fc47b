"""Reads the store for inspectors: verification over a consistent snapshot, and a request's stream."""

from __future__ import annotations

import asyncpg

from services.audit.verify import ChainVerifier, VerifyReport

_COLUMNS = (
    "position, event_id, stream_id, version, type, schema_version, occurred_at, recorded_at, actor, on_behalf_of, "
    "correlation_id, causation_id, policy, clock, payload, content_hash, prev_hash, hash, chain_hash"
)


async def verify_store(pool: asyncpg.Pool, *, prefetch: int = 5000) -> VerifyReport:
    verifier = ChainVerifier()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL statement_timeout = 0")
        async for record in conn.cursor(f"SELECT {_COLUMNS} FROM events ORDER BY position", prefetch=prefetch):
            verifier.feed(record)
    return verifier.finish()
