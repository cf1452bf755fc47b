"""Shared fixtures: one real embedded stack (Postgres, Temporal dev server, NATS JetStream) per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from deploy.infra import EmbeddedInfrastructure, InfraAddresses
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.store import PostgresEventStore
from runtime.process_exit import exit_now

ARTIFACTS = Path(os.environ.get("LENTUR_TEST_ARTIFACTS", "test-artifacts"))
_EXIT_STATUS: list[int] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The suite runs Temporal clients and workers in this process: once the summary is printed, end it
    with the suite's status and no interpreter teardown, which they can crash (runtime/process_exit.py)."""
    if _EXIT_STATUS:
        exit_now(_EXIT_STATUS[-1])


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfraAddresses]:
    stack = EmbeddedInfrastructure(tmp_path_factory.mktemp("stack") / ".lentur")
    addresses = stack.start()
    yield addresses
    stack.stop()


@pytest.fixture(scope="session")
def infra_stack(infra: InfraAddresses) -> InfraAddresses:
    return infra


def database_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


async def create_database(infra: InfraAddresses, prefix: str = "t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url(infra.database_url, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = database_url(infra.database_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest.fixture
async def fresh_db(infra: InfraAddresses) -> str:
    return await create_database(infra)


@pytest.fixture
async def store(fresh_db: str) -> AsyncIterator[PostgresEventStore]:
    pool = await create_pool(fresh_db, min_size=1, max_size=20)
    yield PostgresEventStore(pool)
    await pool.close()
