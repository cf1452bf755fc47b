"""The inspector's side of the real stack: a randomized workload through HTTP, then as-of replay against the
projection captured mid-way, rebuild equal to live, the inspector API with its access rules and its own
trail, checkpoints and bundles, and erasure of personal data."""

from __future__ import annotations

import asyncio
import io
import json
import random
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from contracts.canonical import canonical_json
from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from eventstore.store import PostgresEventStore
from runtime.clock import Clock
from services.approvals.rebuild import rebuild_read_models
from services.audit.bundle import verify_bundle
from services.audit.signing import CheckpointSigner, generate_private_key, private_key_pem
from services.audit.store_replay import replay_store
from services.kernel.privacy import ERASED, PersonalDataVault, erase_expired
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

KEY = generate_private_key()
SIGNER = CheckpointSigner(KEY)
TRUSTED = {SIGNER.key_id: SIGNER.public_key}

INSPECTOR = "199412172016012157"  # Eka Andi, Inspektorat Kendari
ADMIN = "199702202019041158"  # Rahmat Joko, BKPSDM Kendari
BITUNG_INSPECTOR = "199604012020042038"
STAFF = [
    "199505042021012163",  # Putri Teguh, DISHUB-U1
    "197603131999112162",  # Kurnia Made, DISHUB-U1
    "198912022013092166",  # Joko Wulan, DISHUB-U2 (head's post held by a Plh)
    "199301242015041167",  # Joko Yusuf, DISHUB-U2
    "198402032007112172",  # Made Indah, DPMPTSP-U1
    "197111271997062173",  # Yusuf Sari, DPMPTSP-U1
    "197804212000022179",  # Indah Budi, DPMPTSP-U2
    "197101041993101185",  # Lestari Eka, DISKOMINFO-U1
    "197604041998011188",  # Joko Rahmat, DISKOMINFO-U2
]
PLT_FOR = {"198110052005061165": "197001011996062169"}  # Dewi Sari acts for Putri Hendra
DAYS = ["2025-12-29", "2025-12-30", "2025-12-31"]


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), audit_signing_key=private_key_pem(KEY)) as running:
        yield running


@pytest.fixture(scope="module")
async def db(stack: RunningStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(stack.settings.database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


def clock_of(stack: RunningStack) -> Clock:
    return Clock(stack.settings.simulated_now, stack.settings.simulated_anchor)


async def caught_up(db: asyncpg.Pool) -> int:
    """Wait until the projection has applied every stored event; returns that position."""
    for _ in range(200):
        head = await db.fetchval("SELECT coalesce(max(position), 0) FROM events")
        done = await db.fetchval("SELECT position FROM projection_checkpoints WHERE name = 'read-models'")
        if done == head:
            return int(head)
        await asyncio.sleep(0.05)
    raise AssertionError("the projection did not catch up")


async def read_models(db: asyncpg.Pool) -> dict[str, list[str]]:
    """Every rm_* table, as sorted canonical rows."""
    names = [
        r["table_name"]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_name LIKE 'rm\\_%' ORDER BY table_name"
        )
    ]
    return {n: sorted(canonical_json(dict(r)) for r in await db.fetch(f"SELECT * FROM {n}")) for n in names}


def state_tables(state: Any) -> dict[str, list[str]]:
    return {name: sorted(canonical_json(row) for row in t.rows.values()) for name, t in state.tables.items()}


async def act(stack: RunningStack, db: asyncpg.Pool, request: dict, decision: str) -> dict:
    assignee = await db.fetchval("SELECT assignee_nip FROM rm_tasks WHERE task_id = $1", request["current_task_id"])
    for nip in (PLT_FOR.get(assignee), assignee):
        if nip is None:
            continue
        async with await stack.as_user(nip) as approver:
            tasks = (await approver.get("/api/tasks")).json()
            if any(t["task_id"] == request["current_task_id"] for t in tasks):
                comment = {"approve": "Setuju", "reject": "Layanan sedang padat", "return": "Lengkapi rencana kerja"}
                r = await approver.post(
                    f"/api/tasks/{request['current_task_id']}/decision",
                    json={"decision": decision, "comment": comment[decision]},
                )
                assert r.status_code == 200, r.text
                return r.json()
    raise AssertionError(f"nobody holds task {request['current_task_id']}")


async def workload(stack: RunningStack, db: asyncpg.Pool, rng: random.Random, count: int) -> list[str]:
    """Submits, approvals, rejections, returns with resubmission, cancels, and requests left pending."""
    ids = []
    for _ in range(count):
        nip = rng.choice(STAFF)
        kind = rng.choice(["WFH", "WFH", "WFA", "CUTI_TAHUNAN"])
        body: dict[str, Any] = {"kind": kind, "dates": sorted(rng.sample(DAYS, rng.randint(1, 2))), "reason": "Urusan"}
        if kind.startswith("CUTI"):
            body["leave"] = {"address": "Jl. Merdeka 1", "phone": "081234567890"}
        if kind == "WFA":
            body["location"] = {"text": "Rumah orang tua", "country": rng.choice(["ID", "MY"])}
        async with await stack.as_user(nip) as asn:
            r = await asn.post("/api/requests", json=body)
            if r.status_code == 422:
                continue  # the policy refused (e.g. dates already taken): nothing to drive
            assert r.status_code == 201, r.text
            request = r.json()
        ids.append(request["id"])
        while request["status"] in ("PENDING", "RETURNED"):
            roll = rng.random()
            if request["status"] == "RETURNED":
                async with await stack.as_user(nip) as asn:
                    if roll < 0.7:
                        r = await asn.post(f"/api/requests/{request['id']}/resubmit", json=body)
                    else:
                        r = await asn.post(f"/api/requests/{request['id']}/cancel", json={"reason": "Tidak jadi"})
                    assert r.status_code == 200, r.text
                    request = r.json()
            elif roll < 0.1:
                break  # left waiting for a decision
            elif roll < 0.18:
                async with await stack.as_user(nip) as asn:
                    r = await asn.post(f"/api/requests/{request['id']}/cancel", json={"reason": "Tidak jadi"})
                    assert r.status_code == 200, r.text
                    request = r.json()
            else:
                decision = "approve" if roll < 0.8 else "reject" if roll < 0.9 else "return"
                request = await act(stack, db, request, decision)
    return ids


@pytest.fixture(scope="module")
async def history(stack: RunningStack, db: asyncpg.Pool) -> dict[str, Any]:
    """Two rounds of random work, with the read models captured in between (the moment to replay)."""
    rng = random.Random(20251222)
    async with await stack.as_user(STAFF[2]) as asn:  # DISHUB-U2: the Plh decides for the absent head
        r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-31"], "reason": "Urusan"})
        assert r.status_code == 201, r.text
    acting = await act(stack, db, r.json(), "approve")
    assert acting["decisions"][0]["on_behalf_of"] == "198110052005061165"
    first = [acting["id"], *await workload(stack, db, rng, 8)]
    position = await caught_up(db)
    captured = await read_models(db)
    moment = clock_of(stack).now()
    await asyncio.sleep(0.05)
    second = await workload(stack, db, rng, 8)
    return {"first": first, "second": second, "position": position, "captured": captured, "moment": moment}


async def test_as_of_replay_equals_the_projection_captured_at_that_moment(
    stack: RunningStack, db: asyncpg.Pool, history: dict
) -> None:
    assert history["second"], "the second round changed nothing"
    replayed = await replay_store(PostgresEventStore(db), as_of=history["moment"])
    assert replayed.position == history["position"]
    assert state_tables(replayed.state) == history["captured"]
    assert state_tables(replayed.state) != await read_models(db)  # the second round is not in it

    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get("/api/audit/replay", params={"as_of": history["moment"].isoformat()})
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["position"] == history["position"]
    then = {row["request_id"]: row["status"] for row in replayed.state["rm_requests"].rows.values()}
    assert {x["request_id"]: x["status"] for x in body["requests"]} == {str(k): v for k, v in then.items()}
    assert not set(history["second"]) & {x["request_id"] for x in body["requests"]}


async def test_rebuild_from_the_log_equals_the_live_read_models(db: asyncpg.Pool, history: dict) -> None:
    await caught_up(db)
    live = await read_models(db)
    assert live["rm_requests"] and live["rm_tasks"] and live["rm_audit_index"]
    for status in ("APPROVED", "REJECTED", "CANCELLED", "PENDING"):
        assert any(f'"status":"{status}"' in row for row in live["rm_requests"]), status
    result = await rebuild_read_models(db)
    assert result["events"] == await db.fetchval("SELECT max(position) FROM events")
    assert await read_models(db) == live


async def test_replay_explains_each_decision(stack: RunningStack, db: asyncpg.Pool, history: dict) -> None:
    decided = await db.fetchval(
        "SELECT request_id FROM rm_requests WHERE region = 'kendari' AND jsonb_array_length(decisions) >= 2 "
        "ORDER BY submitted_at LIMIT 1"
    )
    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get("/api/audit/replay", params={"request_id": str(decided)})
        assert r.status_code == 200, r.text
        story = r.json()["request"]
    decision = story["decisions"][0]
    assert decision["actor"]["nip"] and decision["actor"]["name"]
    assert decision["at_local"].endswith("WITA")
    assert decision["policy"]["id"] and decision["policy"]["version"]
    assert decision["citation"]["clause"] and decision["citation"]["source"] in decision["text"]
    assert story["timeline"][0]["type"] == "RequestSubmitted"

    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get("/api/audit/replay", params={"request_id": history["first"][0]})
        story = r.json()["request"]
    acted = story["decisions"][0]
    assert acted["actor"] == {"nip": "197001011996062169", "name": "Dewi Sari"}
    assert acted["on_behalf_of"] == {"nip": "198110052005061165", "name": "Putri Hendra"}
    assert "atas nama Putri Hendra" in acted["text"]


async def test_only_inspectors_and_admins_of_the_region_read_the_log(stack: RunningStack, history: dict) -> None:
    request_id = history["first"][0]
    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get(f"/api/audit/requests/{request_id}")
        assert r.status_code == 200 and r.headers["X-Stream-Verified"] == "true"
        assert r.json()[0]["type"] == "RequestSubmitted" and r.json()[0]["hash"]
    async with await stack.as_user(ADMIN) as admin:
        assert (await admin.get(f"/api/audit/requests/{request_id}")).status_code == 200
    async with await stack.as_user(BITUNG_INSPECTOR) as other:
        r = await other.get(f"/api/audit/requests/{request_id}")
        assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
        r = await other.get("/api/audit/replay", params={"request_id": request_id})
        assert r.status_code == 403
        found = (await other.get("/api/audit/search", params={"nip": STAFF[0]})).json()
        assert found == []
    async with await stack.as_user(STAFF[0]) as staff:
        for path in (
            "/api/audit/verify",
            f"/api/audit/requests/{request_id}",
            "/api/audit/search",
            "/api/audit/export",
        ):
            r = await staff.get(path)
            assert r.status_code == 403, path
        assert (await staff.post("/api/audit/checkpoints")).status_code == 403


async def test_search_by_nip_opd_and_dates_and_every_read_is_on_record(
    stack: RunningStack, db: asyncpg.Pool, history: dict
) -> None:
    staff = STAFF[0]
    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get("/api/audit/search", params={"nip": staff, "from": "2025-12-22", "to": "2025-12-23"})
        assert r.status_code == 200, r.text
        items = r.json()
        assert items and all(staff in (i["subject_nip"], i["actor"], i["on_behalf_of"]) for i in items)
        assert all(i["occurred_at_local"].endswith("WITA") for i in items)
        by_opd = (await inspector.get("/api/audit/search", params={"opd": "DPMPTSP"})).json()
        assert by_opd and {i["opd_code"] for i in by_opd} == {"DPMPTSP"}
        later = (await inspector.get("/api/audit/search", params={"from": "2026-01-05"})).json()
        assert later == []
    await caught_up(db)
    async with await stack.as_user(ADMIN) as admin:
        trail = (await admin.get("/api/audit/search", params={"nip": INSPECTOR, "type": "AuditAccessed"})).json()
    assert len(trail) >= 3  # the three searches above, each one itself an event in the log
    stored = await db.fetch(
        "SELECT payload->>'access' AS access, payload->'query' AS query FROM events "
        "WHERE type = 'AuditAccessed' AND actor = $1 ORDER BY position",
        INSPECTOR,
    )
    assert {"search", "request", "replay"} <= {r["access"] for r in stored}
    assert any(r["query"].get("opd") == "DPMPTSP" for r in stored)


async def test_checkpoint_on_demand_then_verify_names_the_trusted_key(stack: RunningStack) -> None:
    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.post("/api/audit/checkpoints")
        assert r.status_code == 201, r.text
        signed = r.json()
        assert signed["key_id"] == SIGNER.key_id and signed["created"] is True
        keys = (await inspector.get("/api/audit/keys")).json()
        assert {"key_id": SIGNER.key_id, "public_key": SIGNER.public_key, "signing": True} in keys
        report = (await inspector.get("/api/audit/verify")).json()
    assert report["ok"] is True and report["first_bad_position"] is None
    assert report["events_checked"] > signed["up_to_position"]
    assert report["checkpoints_checked"] >= 1
    assert report["signers"][0]["key_id"] == SIGNER.key_id and report["signers"][0]["trusted"] is True


async def test_export_of_a_range_verifies_offline_and_hides_other_regions(
    stack: RunningStack, db: asyncpg.Pool, history: dict
) -> None:
    last = await db.fetchval("SELECT max(position) FROM events")
    async with await stack.as_user(INSPECTOR) as inspector:
        r = await inspector.get("/api/audit/export", params={"from": "5", "to": str(last - 3)})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
    report = verify_bundle(io.BytesIO(r.content), trusted_keys=TRUSTED).as_dict()
    assert report["ok"], report
    assert report["anchored_start"] and report["anchored_end"]
    assert report["range"] == {"from": 5, "to": last - 3}
    assert report["packs_checked"] >= 1 and not any("paket" in w for w in report["warnings"])
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        lines = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
        kendari = next(n for n in zf.namelist() if n.startswith("packs/kendari@"))
        assert "Kendari" in zf.read(kendari).decode()
    shown = [e for e in lines if not e.get("redacted") and e["type"] == "RequestSubmitted"]
    assert shown and {e["payload"]["region"] for e in shown} == {"kendari"}
    assert all("payload" not in e for e in lines if e.get("redacted"))

    async with await stack.as_user(INSPECTOR) as inspector:  # a local day instead of positions
        r = await inspector.get("/api/audit/export", params={"from": "2025-12-22", "to": "2025-12-22"})
        assert r.status_code == 200, r.text
        assert verify_bundle(io.BytesIO(r.content), trusted_keys=TRUSTED).ok
        r = await inspector.get("/api/audit/export", params={"from": "2026-02-01"})
        assert r.status_code == 404 and r.json()["code"] == "empty_range"
        r = await inspector.get("/api/audit/export", params={"from": "9", "to": "3"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_range"


async def test_erased_personal_data_reads_as_erased_and_verify_stays_green(
    stack: RunningStack, db: asyncpg.Pool, history: dict
) -> None:
    request_id = history["first"][0]
    owner = await db.fetchval("SELECT requester_nip FROM rm_requests WHERE request_id = $1::uuid", request_id)
    async with await stack.as_user(owner) as asn:
        assert (await asn.get(f"/api/requests/{request_id}")).json()["reason"] == "Urusan"
    vault = PersonalDataVault(db, stack.settings.jwt_secret.get_secret_value())
    later = clock_of(stack).now() + timedelta(days=2 * 365 + 40)
    erased = await erase_expired(vault, PostgresEventStore(db), now=later, retention_months={"request": 24})
    assert erased.destroyed and erased.positions
    async with await stack.as_user(owner) as asn:
        assert (await asn.get(f"/api/requests/{request_id}")).json()["reason"] == ERASED
    async with await stack.as_user(INSPECTOR) as inspector:
        report = (await inspector.get("/api/audit/verify")).json()
        stream = await inspector.get(f"/api/audit/requests/{request_id}")
    assert report["ok"] is True
    assert stream.headers["X-Stream-Verified"] == "true" and stream.json()[0]["payload"]["personal"]["ct"]
