"""Loads the rows a batch of events touches, folds the batch, and saves what changed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import EventEnvelope
from services.approvals.state import TABLE_KEYS, ApprovalState, Row, Table

READ_MODEL_TABLES = tuple(TABLE_KEYS)


def _request_ids(events: list[EventEnvelope]) -> list[UUID]:
    found = {UUID(str(e.payload["request_id"])) for e in events if e.payload.get("request_id")}
    return sorted(found)


def _scheduled_piket(event: EventEnvelope) -> bool:
    return event.type == "DutiesScheduled" and str(event.payload.get("subject", "")).startswith("piket:")


async def _load(conn: asyncpg.Connection, table: Table, where: str, *args: Any) -> None:
    for record in await conn.fetch(f"SELECT * FROM {table.name} WHERE {where}", *args):
        table.load(dict(record))


# A request's rows in its four tables, read in one round trip: each table's rows as an array of its row type.
REQUEST_TABLES = ("rm_requests", "rm_tasks", "rm_unit_day", "rm_leave")
_LOAD_BY_REQUEST = "SELECT " + ", ".join(
    f"ARRAY(SELECT t FROM {name} t WHERE request_id = ANY($1::uuid[]))" for name in REQUEST_TABLES
)


async def load_request_rows(conn: asyncpg.Connection, state: ApprovalState, request_ids: list[UUID]) -> None:
    try:
        found = await conn.fetchrow(_LOAD_BY_REQUEST, request_ids)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError):
        # A migration may have changed a row type under a running projector: read the codecs afresh on retry.
        await conn.reload_schema_state()
        raise
    assert found is not None
    for name, rows in zip(REQUEST_TABLES, found, strict=True):
        for record in rows:
            state[name].load(dict(record.items()))


async def load_touched_rows(conn: asyncpg.Connection, state: ApprovalState, events: list[EventEnvelope]) -> None:
    request_ids = _request_ids(events)
    if request_ids:
        await load_request_rows(conn, state, request_ids)
    quotas = sorted({e.payload["quota"] for e in events if "quota" in e.payload})
    if quotas:
        await _load(conn, state["rm_quotas"], "quota = ANY($1::text[])", quotas)
    delegations = sorted({UUID(str(e.payload["delegation_id"])) for e in events if "delegation_id" in e.payload})
    if delegations:
        await _load(conn, state["rm_delegations"], "delegation_id = ANY($1::uuid[])", delegations)
    duty_ids = sorted({e.payload["duty_id"] for e in events if "duty_id" in e.payload})
    if duty_ids:
        await _load(conn, state["rm_duties"], "duty_id = ANY($1::text[])", duty_ids)
    superseded = sorted(
        {
            UUID(str(e.payload["supersedes"]))
            for e in events
            if e.type == "PiketRosterSet" and e.payload.get("supersedes")
        }
    )
    rosters = {UUID(e.payload["subject"].removeprefix("piket:")) for e in events if _scheduled_piket(e)}
    if rosters:
        await _load(conn, state["rm_piket"], "roster_id = ANY($1::uuid[])", sorted(rosters))
    if superseded:
        await _load(conn, state["rm_piket"], "roster_id = ANY($1::uuid[])", superseded)
        await _load(conn, state["rm_duties"], "subject = ANY($1::text[])", [f"piket:{r}" for r in superseded])
    holders = sorted({e.payload["holder_nip"] for e in events if "holder_nip" in e.payload})
    if holders:
        await _load(conn, state["rm_people"], "nip = ANY($1::text[])", holders)
    regions = sorted({p["region"] for e in events if e.type == "DirectoryImported" for p in e.payload["people"]})
    if regions:
        await _load(conn, state["rm_people"], "region = ANY($1::text[])", regions)


async def save_changes(conn: asyncpg.Connection, state: ApprovalState) -> None:
    for table in state.tables.values():
        if table.deleted:
            keys = list(table.deleted)
            condition = " AND ".join(f"{k} = ${i + 1}" for i, k in enumerate(table.key))
            await conn.executemany(f"DELETE FROM {table.name} WHERE {condition}", keys)
        if table.dirty:
            rows = [table.rows[k] for k in table.dirty if k in table.rows]
            await upsert(conn, table, rows)
        table.clear_changes()


_COLUMNS: dict[str, tuple[str, ...]] = {}  # each read-model table's columns in order, read once per process
# (and again after a write that failed, see upsert)


async def table_columns(conn: asyncpg.Connection, name: str) -> tuple[str, ...]:
    columns = _COLUMNS.get(name)
    if columns is None:
        rows = await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            name,
        )
        columns = _COLUMNS[name] = tuple(r["attname"] for r in rows)
    return columns


async def upsert(conn: asyncpg.Connection, table: Table, rows: list[Row]) -> None:
    """All rows in one statement: an array of the table's own row type, unnested. The columns a row does not
    carry are sent as NULL and left out of the insert, so they keep their defaults and stored values."""
    if not rows:
        return
    present = list(rows[0])
    every = await table_columns(conn, table.name)
    quoted = [f'"{c}"' for c in present]
    updates = ", ".join(f"{q} = EXCLUDED.{q}" for c, q in zip(present, quoted, strict=True) if c not in table.key)
    conflict = ", ".join(table.key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    listed = ", ".join(quoted)
    sql = (
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM unnest($1::{table.name}[]) "
        f"ON CONFLICT ({conflict}) {action}"
    )
    try:
        await conn.execute(sql, [tuple(row.get(c) for c in every) for row in rows])
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError):
        # A migration may have changed the table's row type under a running projector (a rolling upgrade):
        # forget the columns and the connection's type codecs, so the batch's retry reads them afresh.
        _COLUMNS.pop(table.name, None)
        await conn.reload_schema_state()
        raise


async def write_full_state(conn: asyncpg.Connection, state: ApprovalState) -> None:
    """Replace every read-model table with the state's rows (used by rebuild).

    Secondary indexes are dropped before the copy and built again after it, inside the same transaction:
    building an index once over a million rows is several times faster than updating it a million times.
    TRUNCATE has locked the tables already, so readers wait for the commit either way.
    """
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    await conn.execute(f"TRUNCATE {', '.join(READ_MODEL_TABLES)}")
    for table in state.tables.values():
        rows = list(table.rows.values())
        if not rows:
            continue
        # Only the tables' owner may drop and build indexes; the least-privilege app role copies into them.
        indexes = await conn.fetch(
            "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND NOT i.indisunique "
            "AND pg_has_role(t.relowner, 'USAGE')",
            table.name,
        )
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        columns = list(rows[0])
        await conn.copy_records_to_table(
            table.name, records=[tuple(row[c] for c in columns) for row in rows], columns=columns
        )
        for index in indexes:
            await conn.execute(index["definition"])
        table.clear_changes()


class ReadModelProjection:
    """Requests, tasks, unit load, quotas, delegations, directory, packs and the inspector's index."""

    name = "read-models"

    async def apply_batch(self, conn: asyncpg.Connection, events: list[EventEnvelope]) -> None:
        state = ApprovalState()
        await load_touched_rows(conn, state, events)
        for table in state.tables.values():
            table.clear_changes()
        state.apply_all(events)
        await save_changes(conn, state)
