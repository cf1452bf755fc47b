"""Connection pools with the codecs and timeouts every store connection needs."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from contracts.canonical import canonical_json


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + canonical_json(value).encode()  # jsonb's binary form: a version byte, then the text


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


def _json_encode(value: Any) -> bytes:
    return canonical_json(value).encode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs, so that COPY (used by the projection rebuild) can write json/jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=_json_encode, decoder=json.loads, schema="pg_catalog", format="binary")


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
