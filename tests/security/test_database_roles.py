"""The app's database role: it appends and reads events but can never change them, whatever the owner does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from tests.conftest import create_database

pytestmark = pytest.mark.integration


def _event(stream: str) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        stream_id=stream,
        type="Something",
        schema_version=1,
        payload={"text": "Kerja dari rumah"},
        occurred_at=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
        actor="199003132015021001",
        correlation_id="corr-roles",
    )


def _as(url: str, user: str) -> str:
    """The same database, logged in as another role (the embedded server trusts loopback logins)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}@{rest.split('@', 1)[1]}"


@pytest.fixture(scope="module")
async def databases(infra: InfraAddresses) -> AsyncIterator[tuple[str, str]]:
    """(owner url, app url): migrations ran as the owner; the app logs in as a member of lentur_app."""
    owner_url = await create_database(infra, prefix="roles")
    login = f"lentur_api_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(owner_url)
    try:
        await owner.execute(f"CREATE ROLE {login} LOGIN IN ROLE lentur_app")
    finally:
        await owner.close()
    yield owner_url, _as(owner_url, login)


async def test_the_app_role_appends_and_reads_through_the_store(databases: tuple[str, str]) -> None:
    _, app_url = databases
    pool = await create_pool(app_url, min_size=1, max_size=2)
    try:
        store = PostgresEventStore(pool)
        appended = await store.append(AppendUnit([_event("roles-1"), _event("roles-1")]))
        assert [a.version for a in appended] == [1, 2]
        assert [e.version for e in await store.read_stream("roles-1")] == [1, 2]
        # and keeps the read models, as the projector does
        await pool.execute("INSERT INTO projection_checkpoints (name, position) VALUES ('roles-test', 2)")
        await pool.execute("UPDATE projection_checkpoints SET position = 3 WHERE name = 'roles-test'")
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{\"text\": \"diubah\"}'::jsonb WHERE stream_id = 'roles-2'",
        "DELETE FROM events WHERE stream_id = 'roles-2'",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER events_append_only",
        "DROP TABLE events",
        "INSERT INTO schema_migrations (name) VALUES ('9999_forged.sql')",
    ],
)
async def test_the_app_role_is_refused_even_with_the_trigger_disabled(
    databases: tuple[str, str], statement: str
) -> None:
    owner_url, app_url = databases
    owner = await asyncpg.connect(owner_url)
    app = await asyncpg.connect(app_url)
    try:
        owner_pool = await create_pool(owner_url, min_size=1, max_size=1)
        try:
            await PostgresEventStore(owner_pool).append(AppendUnit([_event("roles-2")]))
        finally:
            await owner_pool.close()
        before = await owner.fetch("SELECT position, hash FROM events ORDER BY position")
        # The owner switches the append-only trigger off: only the privileges stand between the app and the log.
        await owner.execute("ALTER TABLE events DISABLE TRIGGER USER")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(statement)
        finally:
            await owner.execute("ALTER TABLE events ENABLE TRIGGER USER")
        assert await owner.fetch("SELECT position, hash FROM events ORDER BY position") == before
    finally:
        await app.close()
        await owner.close()


async def test_the_app_role_owns_nothing_and_cannot_create(databases: tuple[str, str]) -> None:
    owner_url, app_url = databases
    owner = await asyncpg.connect(owner_url)
    app = await asyncpg.connect(app_url)
    try:
        owned = await owner.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = 'lentur_app'"
        )
        assert owned == 0
        assert not await owner.fetchval(
            "SELECT rolcanlogin OR rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = 'lentur_app'"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("CREATE TABLE sneaky (x int)")
    finally:
        await app.close()
        await owner.close()
