"""A realistic audit log with two signed checkpoints, and tampered copies of it, for the verifier's tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts.canonical import loads
from deploy.bench.audit import SAMPLE_DIRECTORY, fill
from deploy.infra import InfraAddresses
from eventstore.chain import chain_hash, content_hash, event_hash
from eventstore.db import create_pool
from eventstore.scan import VERIFY_COLUMNS
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from policy.directory import parse_directory_csv
from runtime.clock import Clock
from services.approvals.rebuild import rebuild_read_models
from services.audit.checkpoints import sign_checkpoint
from services.audit.signing import CheckpointSigner, generate_private_key
from tests.conftest import create_database, database_url

SIGNER = CheckpointSigner(generate_private_key())
TRUSTED = {SIGNER.key_id: SIGNER.public_key}
CLOCK = Clock()


async def import_directory_event(store: PostgresEventStore) -> None:
    from contracts.events import DirectoryImported

    people = parse_directory_csv(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))
    payload = DirectoryImported(sha256="sample", rows=len(people), people=[p.model_dump(mode="json") for p in people])
    await store.append(
        AppendUnit(
            [
                NewEvent.of(
                    payload,
                    event_id=uuid.uuid4(),
                    stream_id="directory",
                    occurred_at=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
                    actor="system",
                    correlation_id="import",
                )
            ]
        )
    )


@pytest.fixture(scope="module")
async def template(infra: InfraAddresses) -> AsyncIterator[dict]:
    """A log of a few hundred realistic events with two checkpoints, projected; copied for each tamper."""
    url = await create_database(infra, prefix="audit_tpl")
    pool = await create_pool(url, min_size=1, max_size=20)
    store = PostgresEventStore(pool)
    await import_directory_event(store)
    await fill(store, 150, writers=20, seed=11)
    first = await sign_checkpoint(store, SIGNER, CLOCK)
    await fill(store, 150, writers=20, seed=12)
    second = await sign_checkpoint(store, SIGNER, CLOCK)
    await rebuild_read_models(pool)
    head = await store.head_position()
    await pool.close()
    yield {"url": url, "name": url.rsplit("/", 1)[1], "first": first, "second": second, "head": head}


async def copy_of(infra: InfraAddresses, template: dict) -> str:
    name = f"audit_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url(infra.database_url, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template['name']}")
    finally:
        await admin.close()
    return database_url(infra.database_url, name)


@pytest.fixture
async def tampered(infra: InfraAddresses, template: dict) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Pool]]:
    """A copy of the template, a superuser connection with the append-only trigger off, and a pool."""
    url = await copy_of(infra, template)
    conn = await asyncpg.connect(url)
    await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    pool = await create_pool(url, min_size=1, max_size=5)
    yield conn, pool
    await pool.close()
    await conn.close()


async def decision_position(conn: asyncpg.Connection, before: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT max(position) FROM events WHERE type = 'DecisionRecorded' AND position < $1", before
        )
    )


async def rewrite_consistently(conn: asyncpg.Connection, victim: int) -> None:
    """Change one decision and recompute every hash after it with the store's own formulas."""
    await conn.execute(
        "UPDATE events SET payload = jsonb_set(payload, '{decision}', '\"reject\"') WHERE position = $1", victim
    )
    rows = [dict(r) for r in await conn.fetch(f"SELECT {VERIFY_COLUMNS} FROM events ORDER BY position")]
    heads: dict[str, str] = {}
    chain = None
    async with conn.transaction():
        for row in rows:
            row["payload"] = loads(row["payload"])
            row["policy"] = loads(row["policy"]) if row["policy"] else None
            if row["position"] >= victim:
                row["prev_hash"] = heads.get(row["stream_id"])
                row["content_hash"] = content_hash(row)
                row["hash"] = event_hash(
                    row["prev_hash"],
                    row["content_hash"],
                    row["stream_id"],
                    row["version"],
                    row["position"],
                    row["recorded_at"],
                )
                row["chain_hash"] = chain_hash(chain, row["hash"], row["position"])
                await conn.execute(
                    "UPDATE events SET content_hash = $2, prev_hash = $3, hash = $4, chain_hash = $5 "
                    "WHERE position = $1",
                    row["position"],
                    row["content_hash"],
                    row["prev_hash"],
                    row["hash"],
                    row["chain_hash"],
                )
            heads[row["stream_id"]] = row["hash"]
            chain = row["chain_hash"]
