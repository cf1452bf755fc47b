"""The `lentur audit`, `lentur privacy` and `lentur projections` commands against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from deploy.bench.audit import fill
from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from eventstore.store import PostgresEventStore
from services.audit.signing import CheckpointSigner, generate_private_key, private_key_pem
from tests.conftest import create_database
from tests.integration.audit_log import import_directory_event

pytestmark = pytest.mark.integration

KEY = generate_private_key()
SIGNER = CheckpointSigner(KEY)


@pytest.fixture(scope="module")
async def database(infra: InfraAddresses) -> str:
    url = await create_database(infra, prefix="audit_cli")
    pool = await create_pool(url, min_size=1, max_size=20)
    store = PostgresEventStore(pool)
    await import_directory_event(store)
    await fill(store, 120, writers=10, seed=21)
    await pool.close()
    return url


def run(database: str, *args: str) -> tuple[int, str]:
    """`lentur ...` as its own process, as an operator runs it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LENTUR_")},
        "LENTUR_DATABASE_URL": database,
        "LENTUR_ENV": "development",
        "LENTUR_AUDIT_SIGNING_KEY": private_key_pem(KEY),
        "LENTUR_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout + done.stderr


def json_of(output: str) -> dict:
    return json.loads(output[output.index("{") :])


def test_checkpoint_export_verify_replay_and_rebuild_from_the_command_line(database: str, tmp_path: Path) -> None:
    code, out = run(database, "projections", "rebuild")
    assert code == 0, out

    code, out = run(database, "audit", "checkpoint")
    assert code == 0, out
    signed = json_of(out)
    assert signed["key_id"] == SIGNER.key_id and signed["created"] is True

    code, out = run(database, "audit", "verify")
    assert code == 0, out
    report = json_of(out)
    assert report["ok"] and report["checkpoints_checked"] == 1 and report["signers"][0]["trusted"]

    bundle = tmp_path / "range.zip"
    code, out = run(database, "audit", "export", "--from", "10", "--to", "60", "--out", str(bundle))
    assert code == 0, out
    assert json_of(out)["range"] == {"from": 10, "to": 60}
    code, out = run(database, "audit", "verify", "--bundle", str(bundle), "--trust", SIGNER.public_key)
    assert code == 0, out
    assert json_of(out)["anchored_end"] is True

    code, out = run(database, "audit", "replay", "--position", "60", "--json")
    assert code == 0, out
    replayed = json_of(out)
    assert replayed["position"] == 60 and replayed["requests"]
    request_id = replayed["requests"][-1]["request_id"]
    code, out = run(database, "audit", "replay", "--position", "60", "--request", request_id)
    assert code == 0, out
    assert "Keadaan per posisi log 60" in out and "mengajukan" in out

    code, out = run(database, "audit", "replay", "--as-of", "2025-12-21", "--json")
    assert code == 0, out
    assert json_of(out)["position"] == 0  # the day before anything happened (in the log's own zone)
    code, out = run(database, "audit", "replay", "--as-of", "2025-12-22T09:00", "--zone", "Mars/Olympus")
    assert code != 0 and "zone" in out


def test_erase_reports_what_is_due_and_verify_stays_green(database: str) -> None:
    code, out = run(database, "privacy", "erase", "--dry-run")
    assert code == 0, out
    assert json_of(out)["destroyed"] == 0  # the synthetic log seals nothing through the vault
    code, out = run(database, "audit", "verify")
    assert code == 0 and json_of(out)["ok"]


def test_a_broken_chain_makes_verify_exit_non_zero(database: str) -> None:
    async def tamper() -> None:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
            await conn.execute("UPDATE events SET actor = 'x' WHERE position = 5")
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
        finally:
            await conn.close()

    asyncio.run(tamper())
    code, out = run(database, "audit", "verify")
    assert code == 1 and json_of(out)["first_bad_position"] == 5
