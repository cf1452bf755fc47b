"""The read models' one-statement upsert (an array of the table's row type) against real Postgres."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from services.approvals.projection import upsert
from services.approvals.state import Table

pytestmark = pytest.mark.integration


async def test_rows_with_arrays_and_json_are_written_and_updated_in_one_statement(fresh_db: str) -> None:
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute("CREATE TABLE rm_probe (k text PRIMARY KEY, days date[], n int, note text DEFAULT 'kept')")
        table = Table(name="rm_probe", key=("k",))
        await upsert(conn, table, [{"k": "a", "days": [date(2025, 12, 29), date(2025, 12, 30)], "n": 1}])
        await upsert(conn, table, [{"k": "a", "days": [date(2025, 12, 31)], "n": 2}, {"k": "b", "days": [], "n": 3}])
        rows = {r["k"]: dict(r) for r in await conn.fetch("SELECT * FROM rm_probe")}
    finally:
        await conn.close()
    assert rows["a"] == {"k": "a", "days": [date(2025, 12, 31)], "n": 2, "note": "kept"}
    assert rows["b"] == {"k": "b", "days": [], "n": 3, "note": "kept"}


async def test_a_column_added_under_a_running_projector_is_picked_up_by_the_retried_batch(fresh_db: str) -> None:
    """A rolling upgrade: the migration adds a column while a projector that already wrote the table runs."""
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute("CREATE TABLE rm_probe_upgrade (k text PRIMARY KEY, n int)")
        table = Table(name="rm_probe_upgrade", key=("k",))
        await upsert(conn, table, [{"k": "a", "n": 1}])
        other = await asyncpg.connect(fresh_db)
        try:
            await other.execute("ALTER TABLE rm_probe_upgrade ADD COLUMN label text")
        finally:
            await other.close()
        written = False
        for _attempt in range(2):  # the projector retries a failed batch in a new transaction
            try:
                async with conn.transaction():
                    await upsert(conn, table, [{"k": "a", "n": 2, "label": "baru"}])
                written = True
                break
            except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError):
                continue
        row = await conn.fetchrow("SELECT * FROM rm_probe_upgrade WHERE k = 'a'")
    finally:
        await conn.close()
    assert written
    assert dict(row) == {"k": "a", "n": 2, "label": "baru"}
