"""Connection pools with the codecs and timeouts every store connection needs."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.canonical import canonical_bytes, loads


def _jsonb_encode(value: Any) -> bytes:
    # jsonb's binary wire format is a version byte (1) followed by the JSON text.
    return b"\x01" + canonical_bytes(value)


def _jsonb_decode(data: bytes) -> Any:
    return loads(data[1:])


class StoreConnection(asyncpg.Connection):
    """A pooled connection that goes back to the pool as it is.

    asyncpg resets every connection on release (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL): one more
    round trip and four statements for the server per query. Ours carry no session state to reset: settings are
    SET LOCAL, cursors live inside transactions, listeners have connections of their own, and the one session
    advisory lock (checkpoint signing) is released by its holder, which closes the connection if it cannot.
    An open transaction is still rolled back on release; asyncpg does that whatever this returns.
    """

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs: needed by COPY (bulk rebuild) and a little faster for ordinary queries too.
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=canonical_bytes, decoder=loads, schema="pg_catalog", format="binary")


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
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings=settings,
        connection_class=StoreConnection,
    )
    assert pool is not None
    return pool
