"""Connection pools with the codecs and timeouts every store connection needs."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.canonical import canonical_bytes, canonical_json, loads

_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + canonical_bytes(value)


def _decode_jsonb(data: bytes) -> Any:
    return loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb (a version byte, then the text): COPY, which the rebuild uses, only speaks binary.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=canonical_json, decoder=loads, schema="pg_catalog")


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
