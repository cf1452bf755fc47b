"""The API and the portal's pages when something is wrong underneath, as an inspector or an operator meets it:
an event altered in the database, a personal-data key shredded, the projection far behind, NATS down. Each
state is added to the previous ones. The export still hands over the evidence; after each state every portal
page is opened as each role, and every API operation is fuzzed twice, once with the store's faults and once
with the pipeline's too (few examples: the healthy run in test_fuzz_api.py goes deep). An answer may say
that something is wrong (problem+json with a `code`, a page), never a bare 500."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from schemathesis import GenerationMode

from deploy.infra import InfraAddresses, nats_process
from deploy.processes import ManagedProcess, free_port, port_accepts, wait_until
from eventstore.db import create_pool
from services.audit.bundle import verify_bundle
from services.audit.signing import CheckpointSigner, generate_private_key, private_key_pem
from services.kernel.privacy import ERASED, PersonalDataVault
from tests.browser.support import PUBLIC_PAGES, ROLES, pages_of, portal_client
from tests.conftest import ARTIFACTS, create_database
from tests.security.test_fuzz_api import fuzz
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

KEY = generate_private_key()
SIGNER = CheckpointSigner(KEY)
EXAMPLES = {GenerationMode.POSITIVE: 1, GenerationMode.NEGATIVE: 1}
FUZZ_AS = {"admin": ROLES["admin"], "unit_head": ROLES["unit_head"]}


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ManagedProcess, str]]:
    """A NATS server of this module's own, so that stopping it disturbs no other test."""
    directory = tmp_path_factory.mktemp("nats")
    port = free_port()
    process = nats_process(
        port, free_port(), directory / "store", pid_dir=directory, log_path=directory / "nats.log", name="nats-own"
    )
    process.start()
    try:
        wait_until(lambda: port_accepts(port), timeout=30, what="nats", process=process)
        yield process, f"nats://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses, own_nats: tuple[ManagedProcess, str]) -> AsyncIterator[RunningStack]:
    addresses = dataclasses.replace(infra, nats_url=own_nats[1])
    async with running_stack(
        addresses,
        await create_database(infra, prefix="degraded"),
        audit_signing_key=private_key_pem(KEY),
        write_burst=1_000_000,
        read_your_writes_timeout_seconds=1.0,
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def db(stack: RunningStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(stack.settings.database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def request_id(stack: RunningStack) -> str:
    """A pending Kendari request with personal text sealed in the vault, and an open task for its unit head."""
    async with await stack.as_user(ROLES["asn"]) as asn:
        r = await asn.post(
            "/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Menjaga anak yang sakit"}
        )
        assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _fuzz(stack: RunningStack, state: str) -> None:
    tokens = {name: await stack.token(nip) for name, nip in FUZZ_AS.items()}
    calls, found = await asyncio.to_thread(fuzz, stack.base_url, tokens, EXAMPLES, degraded=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"schemathesis-{state}.json").write_text(json.dumps({"calls": calls, "failures": found}, indent=2))
    assert calls > 0
    assert not found, json.dumps(found, indent=2)[:6000]


async def _open_pages(stack: RunningStack, request_id: str) -> None:
    """Every portal page as each role (and the public ones signed out): a page each time, never a 500."""
    broken: list[str] = []
    async with stack.client() as anonymous:
        for path in PUBLIC_PAGES:
            r = await anonymous.get(path)
            if r.status_code >= 500 or not r.headers["content-type"].startswith("text/html"):
                broken.append(f"anonymous {path}: {r.status_code} {r.text[:200]}")
    for role, nip in ROLES.items():
        client = await portal_client(stack, nip)
        try:
            for path in pages_of(role, request_id):
                r = await client.get(path)
                if r.status_code >= 500 or not r.headers["content-type"].startswith("text/html"):
                    broken.append(f"{role} {path}: {r.status_code} {r.text[:200]}")
        finally:
            await client.aclose()
    assert not broken, "\n".join(broken)


async def _checkpoints(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM events WHERE type = 'CheckpointSigned'"))


def _verify_offline(bundle: Path) -> tuple[int, dict]:
    """`lentur audit verify --bundle` as its own process, as an inspector runs it on their own machine."""
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "audit", "verify", "--bundle", str(bundle), "--trust", SIGNER.public_key],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "LENTUR_LOG_LEVEL": "WARNING"},
        cwd=Path(__file__).resolve().parents[2],
    )
    out = done.stdout
    return done.returncode, json.loads(out[out.index("{") :])


async def test_an_export_over_a_tampered_event_is_the_evidence(
    stack: RunningStack, db: asyncpg.Pool, tmp_path: Path
) -> None:
    async with await stack.as_user(ROLES["inspector"]) as inspector:
        r = await inspector.post("/api/audit/checkpoints")
        assert r.status_code == 201, r.text
    async with await stack.as_user("197809212003122164") as asn:  # after the checkpoint: not yet vouched for
        r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-31"], "reason": "Rapat"})
        assert r.status_code == 201, r.text
    victim = int(
        await db.fetchval(
            "SELECT position FROM events WHERE type = 'RequestSubmitted' AND stream_id = $1",
            f"request-{r.json()['id']}",
        )
    )
    async with db.acquire() as conn:  # someone with the database's superuser moves the request's day
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{dates,0}', '\"2025-12-30\"') WHERE position = $1",
            victim,
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    signed_before = await _checkpoints(db)

    async with await stack.as_user(ROLES["inspector"]) as inspector:
        found = (await inspector.get("/api/audit/verify")).json()
        assert found["ok"] is False and found["first_bad_position"] == victim
        r = await inspector.get("/api/audit/export", params={"from": "1"})
        assert r.status_code == 200, r.text
        assert r.headers["X-Chain-Broken-At"] == str(victim)
        refused = await inspector.post("/api/audit/checkpoints")
        assert refused.status_code == 409 and refused.json()["code"] == "chain_broken"
    assert await _checkpoints(db) == signed_before  # nothing vouches for the broken chain

    report = verify_bundle(io.BytesIO(r.content), trusted_keys={SIGNER.key_id: SIGNER.public_key})
    assert not report.ok and report.chain.first_bad_position == victim
    bundle = tmp_path / "bukti.zip"
    bundle.write_bytes(r.content)
    code, offline = _verify_offline(bundle)
    assert code == 1 and offline["ok"] is False and offline["first_bad_position"] == victim
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        carried = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
    altered = next(e for e in carried if e["position"] == victim)
    assert altered["payload"]["dates"] == ["2025-12-30"]  # as stored, not as it should have been


async def test_a_tampered_event(stack: RunningStack, request_id: str) -> None:
    await _open_pages(stack, request_id)


async def test_and_a_shredded_personal_data_key(stack: RunningStack, db: asyncpg.Pool, request_id: str) -> None:
    vault = PersonalDataVault(db, stack.settings.vault_key_secret)
    kids = [r["kid"] for r in await db.fetch("SELECT kid FROM subject_keys WHERE destroyed_at IS NULL")]
    assert kids and await vault.destroy(kids) == kids
    async with await stack.as_user(ROLES["asn"]) as asn:
        assert (await asn.get(f"/api/requests/{request_id}")).json()["reason"] == ERASED
    await _fuzz(stack, "tampered-and-shredded")
    await _open_pages(stack, request_id)


async def test_and_a_projection_far_behind(stack: RunningStack, db: asyncpg.Pool, request_id: str) -> None:
    await stack.stop_component("projector")
    for nip in ("197603131999112162", "199301242015041167"):  # the log moves on, the read models do not
        async with await stack.as_user(nip) as asn:
            r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-30"], "reason": "Laporan"})
            assert r.status_code == 504 and r.json()["code"] == "projection_lagging", r.text  # stored, not shown
    behind = await db.fetchval(
        "SELECT (SELECT max(position) FROM events) - position FROM projection_checkpoints WHERE name = 'read-models'"
    )
    assert behind > 0
    await _open_pages(stack, request_id)


async def test_and_nats_down(stack: RunningStack, own_nats: tuple[ManagedProcess, str], request_id: str) -> None:
    own_nats[0].stop()
    async with stack.client() as anonymous:
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["nats"].startswith("error")
    await _fuzz(stack, "behind-and-nats-down")
    await _open_pages(stack, request_id)
