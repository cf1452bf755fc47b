"""The audit log against real Postgres: tampering of every kind is located, checkpoints catch a consistent
rewrite, bundles verify offline in a process with no database, erasure and old schema versions keep the
chain green."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.events import CheckpointSigned, RequestSubmitted
from contracts.upcasting import upcast
from deploy.bench.audit import fill
from eventstore.db import create_pool
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from services.approvals.rebuild import rebuild_read_models
from services.audit.bundle import verify_bundle
from services.audit.checkpoints import ChainBroken, checkpoint_due, sign_checkpoint
from services.audit.export import ExportScope, export_bundle
from services.audit.service import verify_store
from services.kernel.privacy import PersonalDataVault, erase_expired, purpose_kept_for
from tests.integration.audit_log import (
    CLOCK,
    SIGNER,
    TRUSTED,
    copy_of,
    decision_position,
    rewrite_consistently,
)

pytestmark = pytest.mark.integration


async def test_the_untouched_log_verifies_with_both_checkpoints(template: dict) -> None:
    pool = await create_pool(template["url"], min_size=1, max_size=2)
    try:
        report = await verify_store(pool, trusted_keys=TRUSTED)
    finally:
        await pool.close()
    assert report.ok, report.reason
    assert report.events_checked == template["head"]
    assert report.checkpoints_checked == 2
    assert report.signers[0]["key_id"] == SIGNER.key_id and report.signers[0]["trusted"]


@pytest.mark.parametrize(
    "change",
    [
        "payload = jsonb_set(payload, '{decision}', '\"reject\"')",
        "actor = '199505042021012163'",
        "on_behalf_of = '198110052005061165'",
        "occurred_at = occurred_at - interval '1 day'",
        "recorded_at = recorded_at + interval '1 microsecond'",
        "policy = jsonb_set(policy, '{version}', '\"9.9\"')",
    ],
    ids=["payload", "actor", "on_behalf_of", "occurred_at", "recorded_at", "pack"],
)
async def test_a_changed_byte_is_located(tampered, template: dict, change: str) -> None:
    conn, pool = tampered
    victim = await decision_position(conn, template["first"].up_to_position)
    await conn.execute(f"UPDATE events SET {change} WHERE position = $1", victim)
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok and report.first_bad_position == victim, report.reason


async def test_an_integer_beyond_64_bits_verifies_exactly_and_a_change_to_it_is_located(
    store: PostgresEventStore,
) -> None:
    """The verifier reads payloads with a fast parser that turns such integers into floats; it must then read
    them again exactly rather than call the event changed, and still catch a change to the last digit."""
    big = 2**64 + 12345
    await store.append(
        AppendUnit(
            [
                NewEvent(
                    event_id=uuid.uuid4(),
                    stream_id="ledger-bigint",
                    type="LedgerNoted",
                    schema_version=1,
                    payload={"amount": big, "note": "x"},
                    occurred_at=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
                    actor="system",
                    correlation_id="c",
                )
            ]
        )
    )
    assert (await verify_store(store.pool)).ok
    async with store.pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{amount}', $1::text::jsonb) WHERE stream_id = $2",
            str(big + 1),
            "ledger-bigint",
        )
    report = await verify_store(store.pool)
    assert not report.ok and report.first_bad_position == 1 and "content" in (report.reason or "")


async def test_two_swapped_positions_are_located(tampered) -> None:
    conn, pool = tampered
    p, q = 40, 41
    async with conn.transaction():
        await conn.execute("UPDATE events SET position = -1 WHERE position = $1", p)
        await conn.execute("UPDATE events SET position = $1 WHERE position = $2", p, q)
        await conn.execute("UPDATE events SET position = $1 WHERE position = -1", q)
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok and report.first_bad_position == p


async def test_a_deleted_row_is_located(tampered) -> None:
    conn, pool = tampered
    await conn.execute("DELETE FROM events WHERE position = 77")
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok and report.first_bad_position == 77
    assert "deleted or missing" in report.reason


async def test_an_inserted_row_is_located(tampered) -> None:
    conn, pool = tampered
    async with conn.transaction():
        await conn.execute("UPDATE events SET position = -position WHERE position >= 60")
        await conn.execute("UPDATE events SET position = -position + 1 WHERE position < 0")
        # a copy of the next event under a new id: a decision that was never made
        await conn.execute(
            "INSERT INTO events SELECT 60, gen_random_uuid(), stream_id, version + 1000, type, schema_version, "
            "occurred_at, recorded_at, actor, on_behalf_of, correlation_id, causation_id, policy, clock, payload, "
            "content_hash, prev_hash, hash, chain_hash FROM events WHERE position = 61"
        )
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok and report.first_bad_position == 60


async def test_a_consistent_rewrite_of_the_whole_chain_is_caught_by_a_checkpoint(tampered, template: dict) -> None:
    conn, pool = tampered
    first = template["first"]
    victim = await decision_position(conn, first.up_to_position)
    await rewrite_consistently(conn, victim)
    without_signatures = await verify_store(pool, up_to=first.up_to_position)
    assert without_signatures.ok  # every hash recomputes: only a signature made before can tell
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok
    assert report.first_bad_position == first.up_to_position
    assert report.suspect_range[0] <= victim <= report.suspect_range[1]
    assert SIGNER.key_id in report.reason


async def test_rewriting_after_the_first_checkpoint_is_caught_by_the_second(tampered, template: dict) -> None:
    conn, pool = tampered
    first, second = template["first"], template["second"]
    victim = await decision_position(conn, second.up_to_position)
    assert victim > first.position
    await rewrite_consistently(conn, victim)
    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert not report.ok and report.first_bad_position == second.up_to_position
    assert report.suspect_range == [first.up_to_position + 1, second.up_to_position]
    assert report.checkpoints_checked == 1  # the first one still holds


async def test_no_checkpoint_is_signed_over_a_broken_chain(tampered) -> None:
    conn, pool = tampered
    store = PostgresEventStore(pool)
    await fill(store, 10, writers=1, seed=5)  # new events since the last checkpoint
    await conn.execute(
        "UPDATE events SET actor = '199505042021012163' WHERE position = (SELECT max(position) FROM events) - 2"
    )
    with pytest.raises(ChainBroken) as broken:
        await sign_checkpoint(store, SIGNER, CLOCK)
    assert broken.value.report.first_bad_position == await conn.fetchval("SELECT max(position) - 2 FROM events")
    assert await conn.fetchval("SELECT count(*) FROM events WHERE type = 'CheckpointSigned'") == 2


# -- bundles ---------------------------------------------------------------------------------------------


async def export_to_file(url: str, path: Path, *, first: int | None, last: int | None, region: str | None) -> dict:
    pool = await create_pool(url, min_size=1, max_size=5)
    try:
        with path.open("wb") as target:
            return await export_bundle(
                PostgresEventStore(pool),
                target,
                first=first,
                last=last,
                scope=ExportScope(region=region),
                clock=CLOCK,
                signer=SIGNER,
                exported_by=None,
                file_name=path.name,
            )
    finally:
        await pool.close()


OFFLINE = """
import sys
from deploy.cli import app
try:
    app(sys.argv[1:])
except SystemExit as done:
    code = done.code
loaded = [m for m in ("asyncpg", "temporalio", "faststream", "nats", "uvicorn") if m in sys.modules]
print("LOADED", loaded, file=sys.stderr)
sys.exit(1 if loaded else code)
"""


def verify_offline(path: Path, *trust: str) -> tuple[int, dict, str]:
    """`lentur audit verify --bundle` in a fresh process that has no database address at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENTUR_")}
    args = [sys.executable, "-c", OFFLINE, "audit", "verify", "--bundle", str(path)]
    for key in trust:
        args += ["--trust", key]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    start = done.stdout.find("{")
    return done.returncode, (json.loads(done.stdout[start:]) if start >= 0 else {}), done.stderr


async def test_a_partial_range_bundle_is_anchored_and_verifies_offline(template: dict, infra, tmp_path: Path) -> None:
    url = await copy_of(infra, template)
    first = template["first"]
    path = tmp_path / "partial.zip"
    manifest = await export_to_file(
        url, path, first=first.up_to_position + 10, last=first.up_to_position + 40, region=None
    )
    assert manifest["anchor"]["start_position"] == first.up_to_position
    assert manifest["anchor"]["end_position"] == template["second"].position

    code, report, stderr = verify_offline(path, SIGNER.public_key)
    assert code == 0, (report, stderr)
    assert report["ok"] and report["anchored_start"] and report["anchored_end"]
    assert report["signers"][0]["trusted"] is True
    assert "LOADED []" in stderr  # the offline path pulled in no database or network client

    code, report, _ = verify_offline(path)
    assert code == 0 and report["signers"][0]["trusted"] is False and report["warnings"]


async def test_a_tampered_bundle_fails_offline(template: dict, infra, tmp_path: Path) -> None:
    url = await copy_of(infra, template)
    path = tmp_path / "full.zip"
    await export_to_file(url, path, first=None, last=None, region=None)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "events.jsonl":
                lines = data.splitlines(keepends=True)
                event = json.loads(lines[99])
                event["occurred_at"] = "2025-12-01T00:00:00.000000Z"  # backdated
                lines[99] = (
                    json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode() + b"\n"
                )
                data = b"".join(lines)
            dst.writestr(item.filename, data)
    code, report, _ = verify_offline(tampered, SIGNER.public_key)
    assert code == 1 and report["first_bad_position"] == 100


async def test_a_region_bundle_shows_only_that_region_and_still_verifies(template: dict, infra, tmp_path: Path) -> None:
    url = await copy_of(infra, template)
    path = tmp_path / "kendari.zip"
    await export_to_file(url, path, first=None, last=None, region="kendari")
    report = verify_bundle(path, trusted_keys=TRUSTED)
    assert report.ok, report.as_dict()
    with zipfile.ZipFile(path) as zf:
        events = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
    full = [e for e in events if not e.get("redacted")]
    requests = [e for e in full if e["type"] == "RequestSubmitted"]
    assert requests and all(e["payload"]["region"] == "kendari" for e in requests)
    assert any(e.get("redacted") and e["type"] == "RequestSubmitted" for e in events)
    assert all("payload" not in e for e in events if e.get("redacted"))


# -- schema evolution, erasure, periodic checkpoints -----------------------------------------------------


async def test_an_old_schema_version_is_upcast_when_read_and_never_rewritten(store: PostgresEventStore) -> None:
    head_chain = "0" * 64
    signature = SIGNER.sign(7, head_chain)
    v1 = {k: v for k, v in CheckpointSigned.model_fields.items() if k != "algorithm"}
    payload = {
        "up_to_position": 7,
        "chain_hash": head_chain,
        "key_id": signature.key_id,
        "public_key": signature.public_key,
        "signature": signature.signature,
    }
    assert set(payload) == set(v1)
    await store.append(
        AppendUnit(
            [
                NewEvent(
                    event_id=uuid.uuid4(),
                    stream_id="audit-checkpoints-legacy",
                    type="CheckpointSigned",
                    schema_version=1,
                    payload=payload,
                    occurred_at=datetime.now(UTC),
                    actor="system",
                    correlation_id="c",
                )
            ]
        )
    )
    stored = (await store.read_all())[0]
    assert stored.schema_version == 1 and "algorithm" not in stored.payload
    read = upcast(stored)
    assert read.schema_version == CheckpointSigned.SCHEMA_VERSION == 2
    assert CheckpointSigned.model_validate(read.payload).algorithm == "ed25519"
    row = await store.pool.fetchrow("SELECT schema_version, payload::text AS p FROM events WHERE position = 1")
    assert row["schema_version"] == 1 and "algorithm" not in row["p"]
    # the projection reads it through the upcaster too, and the rebuild equals it
    rebuilt = await rebuild_read_models(store.pool)
    assert rebuilt["rows"]["rm_audit_index"] == 1


async def test_erasing_personal_data_after_retention_keeps_verify_green(store: PostgresEventStore) -> None:
    pool = store.pool
    vault = PersonalDataVault(pool, "test-master-secret")
    nip = "199505042021012163"
    old = datetime(2023, 6, 5, 2, 0, tzinfo=UTC)
    recent = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)
    sealed_old = await vault.seal(nip, "request", {"reason": "Merawat orang tua"}, old)
    sealed_new = await vault.seal(nip, "request", {"reason": "Mengantar anak"}, recent)
    for sealed, at in ((sealed_old, old), (sealed_new, recent)):
        request_id = uuid.uuid4()
        payload = RequestSubmitted(
            request_id=request_id,
            requester_nip=nip,
            requester_name="Putri Teguh",
            region="kendari",
            opd_code="DISHUB",
            unit_code="DISHUB-U1",
            kind="WFH",
            dates=[at.date()],
            personal=sealed,
            body_sha256="b",
        )
        await store.append(
            AppendUnit(
                [
                    NewEvent.of(
                        payload,
                        event_id=uuid.uuid4(),
                        stream_id=f"request-{request_id}",
                        occurred_at=at,
                        actor=nip,
                        correlation_id="c",
                    )
                ]
            )
        )
    await sign_checkpoint(store, SIGNER, CLOCK)
    now = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)
    due = await erase_expired(vault, store, now=now, retention_months={"request": 24}, dry_run=True)
    assert due.destroyed == [sealed_old.kid]
    assert await vault.unseal(sealed_old) == {"reason": "Merawat orang tua"}

    erased = await erase_expired(vault, store, now=now, retention_months={"request": 24})
    assert erased.destroyed == [sealed_old.kid] and len(erased.positions) == 1
    assert await vault.unseal(sealed_old) is None  # crypto-shredded: the ciphertext is still in the log
    assert await vault.unseal(sealed_new) == {"reason": "Mengantar anak"}
    fresh_reader = PersonalDataVault(pool, "test-master-secret")  # another process, no cache
    assert await fresh_reader.unseal(sealed_old) is None
    record = await pool.fetchrow("SELECT type, payload::text AS p FROM events WHERE position = $1", erased.positions[0])
    assert record["type"] == "PersonalDataErased" and sealed_old.kid in record["p"]

    report = await verify_store(pool, trusted_keys=TRUSTED)
    assert report.ok and report.checkpoints_checked == 1
    again = await erase_expired(vault, store, now=now, retention_months={"request": 24})
    assert again.destroyed == [] and again.positions == []


async def test_a_pack_that_keeps_locations_90_days_has_them_erased_after_90_days(store: PostgresEventStore) -> None:
    vault = PersonalDataVault(store.pool, "test-master-secret")
    nip = "197904082004042112"
    on_the_31st = datetime(2025, 12, 31, 1, 0, tzinfo=UTC)
    location = await vault.seal(nip, purpose_kept_for("location", 90), {"text": "Masamba"}, on_the_31st)
    reason = await vault.seal(nip, "request", {"reason": "Urusan keluarga"}, on_the_31st)
    assert ":location-90d:2025-12" in location.kid
    settings_months = {"request": 24, "location": 3}
    # 15 March 2026: 1 December is more than 90 days back, 31 December is not — the month's key stays
    kept = await erase_expired(vault, store, now=datetime(2026, 3, 15, tzinfo=UTC), retention_months=settings_months)
    assert kept.destroyed == [] and kept.cutoffs["location-90d"] == "2025-12"
    # 1 April 2026: every day of December 2025 is at least 90 days old
    erased = await erase_expired(vault, store, now=datetime(2026, 4, 1, tzinfo=UTC), retention_months=settings_months)
    assert erased.destroyed == [location.kid]
    assert await vault.unseal(location) is None and await vault.unseal(reason) == {"reason": "Urusan keluarga"}
    record = await store.pool.fetchrow("SELECT payload FROM events WHERE position = $1", erased.positions[0])
    assert "location 90 hari (paket kebijakan)" in record["payload"]["reason"]
    assert (await verify_store(store.pool)).ok


async def test_the_projector_signs_when_enough_has_happened(store: PostgresEventStore) -> None:
    pool = store.pool
    assert not await checkpoint_due(pool, every_events=3, interval_seconds=3600)
    await fill(store, 5, writers=1, seed=3)
    assert await checkpoint_due(pool, every_events=3, interval_seconds=3600)
    assert not await checkpoint_due(pool, every_events=1000, interval_seconds=3600)
    assert await checkpoint_due(pool, every_events=1000, interval_seconds=0)
    signed = await sign_checkpoint(store, SIGNER, CLOCK)
    assert not await checkpoint_due(pool, every_events=1, interval_seconds=0)
    again = await sign_checkpoint(store, SIGNER, CLOCK)
    assert again is not None and not again.created and again.position == signed.position


def test_bundle_module_needs_no_database_client() -> None:
    code = (
        "import sys, services.audit.bundle, services.audit.replay; "
        "print(sorted(m for m in ('asyncpg', 'temporalio', 'nats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
