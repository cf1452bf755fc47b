"""Connection pools with the codecs and timeouts every store connection needs."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from contracts.canonical import canonical_json


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=canonical_json, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=canonical_json, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_timeout_ms: int = 15000,
    lock_timeout_ms: int = 5000,
    application_name: str = "lentur",
) -> asyncpg.Pool:
    # A stuck lock must surface as an error, not a hang.
    settings: dict[str, Any] = {
        "statement_timeout": str(statement_timeout_ms),
        "lock_timeout": str(lock_timeout_ms),
        "idle_in_transaction_session_timeout": "60000",
        "application_name": application_name,
        "timezone": "UTC",
    }
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, server_settings=settings
    )
    assert pool is not None
    return pool
