"""Leave per the national procedure over HTTP on the real stack: the PYBMC's four decisions, considerations
before it (advisory, or binding where the pack says so) and the annual-leave record N-2/N-1/N.

The demo clock stands at 22 Dec 2025 (WITA); Kendari's route for annual leave is kepala unit (pertimbangan),
kepala dinas (pertimbangan), then the PPK as PYBMC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from policy.bundled import bundled_pack_texts
from services.approvals.projection import REQUEST_TABLES, load_request_rows
from services.approvals.state import ApprovalState
from tests.browser.support import portal_client
from tests.conftest import create_database
from tests.eventually import eventually
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

ADMIN = "199702202019041158"
INSPECTOR = "199412172016012157"
UNIT_HEAD = "197506201999081160"  # DISHUB-U1
OPD_HEAD = "199503222018022159"  # DISHUB
PPK = "198609222008011156"
STAFF = ["199505042021012163", "197809212003122164", "197603131999112162", "197610092002091161"]
UNIT2_STAFF = ["198912022013092166", "199301242015041167", "198309122005032168"]  # DISHUB-U2
THREE_DAYS = ["2025-12-29", "2025-12-30", "2025-12-31"]
LEAVE = {"address": "Jl. Saranani 12, Kendari", "phone": "+62 811-4000-2163"}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def submit(stack: RunningStack, nip: str, dates: list[str] = THREE_DAYS) -> dict:
    async with await stack.as_user(nip) as asn:
        r = await asn.post(
            "/api/requests",
            json={"kind": "CUTI_TAHUNAN", "dates": dates, "reason": "Urusan keluarga", "leave": LEAVE},
        )
        assert r.status_code == 201, r.text
        return r.json()


async def decide(stack: RunningStack, nip: str, task_id: str, **body: object) -> tuple[int, dict]:
    async with await stack.as_user(nip) as approver:
        r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve", **body})
        return r.status_code, r.json()


async def to_pybmc(stack: RunningStack, created: dict) -> str:
    task_id = created["current_task_id"]
    for nip in (UNIT_HEAD, OPD_HEAD):
        status, body = await decide(stack, nip, task_id)
        assert status == 200, body
        task_id = body["current_task_id"]
    assert body["current_tier"] == "PPK"
    return task_id


async def balance(stack: RunningStack, viewer: str, nip: str, year: int) -> tuple[int, dict]:
    async with await stack.as_user(viewer) as client:
        r = await client.get("/api/leave/balance", params={"nip": nip, "year": year})
        return r.status_code, r.json()


async def test_a_deferral_at_the_pybmc_ends_deferred_and_moves_the_days_to_next_year(stack: RunningStack) -> None:
    nip = STAFF[0]
    before = (await balance(stack, nip, nip, 2025))[1]["annual"]
    created = await submit(stack, nip)
    task_id = await to_pybmc(stack, created)
    status, pending = await balance(stack, nip, nip, 2025)
    assert status == 200 and pending["annual"]["pending"] == 3
    async with await stack.as_user(PPK) as pybmc:
        tasks = (await pybmc.get("/api/tasks", params={"kind": "CUTI_TAHUNAN"})).json()
    assert next(t for t in tasks if t["task_id"] == task_id)["leave_record"] == pending["annual"]  # same figures

    status, refused = await decide(
        stack, PPK, task_id, decision="defer", comment="Tutup buku", defer_until="2025-12-20"
    )
    assert status == 422 and refused["code"] == "defer_until_not_future"
    status, refused = await decide(
        stack, PPK, task_id, decision="defer", comment="Tutup buku", defer_until="2027-01-05"
    )
    assert status == 422 and refused["code"] == "defer_too_long"
    status, refused = await decide(stack, PPK, task_id, decision="defer", defer_until="2026-03-02")
    assert status == 422 and refused["code"] == "comment_required"

    status, view = await decide(
        stack, PPK, task_id, decision="defer", comment="Tutup buku anggaran", defer_until="2026-03-02"
    )
    assert status == 200 and view["status"] == "DEFERRED", view
    last = view["decisions"][-1]
    assert (last["decision"], last["defer_until"], last["actor"]) == ("defer", "2026-03-02", PPK)

    this_year = (await balance(stack, nip, nip, 2025))[1]["annual"]
    assert before == {"n": 12, "n1": 0, "n2": 0, "deferred": 0, "used": 0, "pending": 0, "available": 12}
    assert this_year == {**before, "available": 9}  # the deferred days are no longer 2025's to take
    status, next_year = await balance(stack, nip, nip, 2026)
    assert status == 200 and next_year["nip"] == nip and next_year["year"] == 2026
    # 2026: 12 less 8 days of cuti bersama; 6 of 2025's 9 unused days carried; the 3 deferred days on top
    assert next_year["annual"] == {"n": 4, "n1": 6, "n2": 0, "deferred": 3, "used": 0, "pending": 0, "available": 13}
    async with await stack.as_user(nip) as asn:
        assert (await asn.post(f"/api/requests/{created['id']}/cancel", json={})).status_code == 409

    async def told() -> dict | None:
        async with await stack.as_user(nip) as asn:
            listed = (await asn.get("/api/notifications")).json()
        return next((n for n in listed if n["request_id"] == created["id"] and n["kind"] == "request_deferred"), None)

    notice = await eventually(told)
    assert "2 Maret 2026" in notice["title"] and "Tutup buku anggaran" in notice["body"]
    async with await stack.as_user(INSPECTOR) as inspector:
        replayed = (await inspector.get("/api/audit/replay", params={"request_id": created["id"]})).json()
    assert replayed["request"]["status"] == "DEFERRED"
    assert any("menangguhkan cuti tahunan" in t["text"] for t in replayed["request"]["timeline"])


async def test_a_change_to_fewer_days_debits_only_those(stack: RunningStack) -> None:
    nip = STAFF[1]
    created = await submit(stack, nip)
    assert created["leave_debit"]["days"] == 3
    task_id = created["current_task_id"]
    # the kepala unit's perubahan is a consideration: the request keeps its dates, the PYBMC decides
    status, view = await decide(
        stack, UNIT_HEAD, task_id, decision="change", dates=["2025-12-30", "2025-12-31"], comment="Usul dua hari"
    )
    assert status == 200 and view["status"] == "PENDING" and view["dates"] == THREE_DAYS
    assert view["decisions"][-1]["dates"] == ["2025-12-30", "2025-12-31"]
    status, view = await decide(stack, OPD_HEAD, view["current_task_id"])
    task_id = view["current_task_id"]

    status, refused = await decide(stack, PPK, task_id, decision="change", dates=[], comment="Kosong")
    assert status == 422 and refused["code"] == "dates_required"
    status, refused = await decide(stack, PPK, task_id, decision="change", dates=["2025-12-27"], comment="Sabtu")
    assert status == 422 and refused["citations"], refused  # judged again by the pack: not a working day
    status, unchanged = await balance(stack, nip, nip, 2025)
    assert unchanged["annual"]["pending"] == 3  # nothing changed by the refusal

    status, view = await decide(stack, PPK, task_id, decision="change", dates=["2025-12-31"], comment="Satu hari")
    assert status == 200 and view["status"] == "APPROVED", view
    assert view["dates"] == ["2025-12-31"]
    assert view["decisions"][-1]["decision"] == "change" and view["decisions"][-1]["dates"] == ["2025-12-31"]
    record = (await balance(stack, nip, nip, 2025))[1]["annual"]
    assert (record["used"], record["pending"]) == (1, 0)
    async with await stack.as_user(INSPECTOR) as inspector:
        trail = (await inspector.get(f"/api/audit/requests/{created['id']}")).json()
    changed = next(e for e in trail if e["type"] == "RequestDatesChanged")
    assert changed["payload"]["previous_dates"] == THREE_DAYS and changed["payload"]["working_days"] == 1
    portal = await portal_client(stack, nip)
    try:
        page = (await portal.get(f"/pengajuan/{created['id']}")).text
    finally:
        await portal.aclose()
    assert "Tanggal semula" in page and "Tanggal diberikan" in page and "Catatan cuti tahunan 2025" in page


async def test_an_advisory_refusal_goes_on_and_every_consideration_is_shown(stack: RunningStack) -> None:
    created = await submit(stack, STAFF[2])
    status, view = await decide(stack, UNIT_HEAD, created["current_task_id"], decision="reject", comment="Beban kerja")
    assert status == 200 and view["status"] == "PENDING" and view["current_tier"] == "OPD_HEAD"
    status, view = await decide(stack, OPD_HEAD, view["current_task_id"])
    status, view = await decide(stack, PPK, view["current_task_id"])
    assert status == 200 and view["status"] == "APPROVED"
    assert [(d["tier"], d["decision"], d["binding"]) for d in view["decisions"]] == [
        ("UNIT_HEAD", "reject", False),
        ("OPD_HEAD", "approve", False),
        ("PPK", "approve", False),
    ]


async def test_leave_decisions_are_refused_for_flexible_work(stack: RunningStack) -> None:
    async with await stack.as_user(UNIT2_STAFF[0]) as asn:
        r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Laporan"})
        assert r.status_code == 201, r.text
        created = r.json()
    status, refused = await decide(
        stack,
        created["route_steps"][0]["approver_nip"],
        created["current_task_id"],
        decision="defer",
        comment="x",
        defer_until="2026-01-05",
    )
    assert status == 422 and refused["code"] == "decision_not_allowed"
    async with await stack.as_user(created["route_steps"][0]["approver_nip"]) as head:
        item = {"task_id": created["current_task_id"], "decision": "change", "dates": ["2025-12-30"], "comment": "x"}
        bulk = (await head.post("/api/tasks/decisions", json={"items": [item]})).json()
    assert bulk["failed"] == 1 and bulk["results"][0]["code"] == "decision_not_allowed"


async def test_the_record_is_shown_to_the_person_their_approvers_and_the_region_only(stack: RunningStack) -> None:
    nip = STAFF[3]
    for viewer in (nip, UNIT_HEAD, OPD_HEAD, PPK, ADMIN, INSPECTOR):
        status, body = await balance(stack, viewer, nip, 2025)
        assert status == 200 and set(body["annual"]) == {"n", "n1", "n2", "deferred", "used", "pending", "available"}
    status, body = await balance(stack, UNIT2_STAFF[1], nip, 2025)
    assert status == 403
    async with await stack.as_user(nip) as asn:
        own = (await asn.get("/api/leave/balance")).json()
    assert own["nip"] == nip and own["year"] == 2025


async def test_a_binding_consideration_ends_the_request_with_its_citation(stack: RunningStack) -> None:
    text = bundled_pack_texts()["kendari.yaml"].replace("version: 2025.12.1.1", "version: 2025.12.95", 1)
    binding = (
        "        - {tier: UNIT_HEAD, action: recommend, binding: {id: kendari.pertimbangan-atasan-mengikat, "
        "basis: pp-11-2017, clause: Pertimbangan atasan langsung yang tidak menyetujui mengakhiri permohonan.}}\n"
        "        - {tier: OPD_HEAD, action: recommend}\n        - {tier: PYBMC, action: approve}"
    )
    plain = (
        "        - {tier: UNIT_HEAD, action: recommend}\n        - {tier: OPD_HEAD, action: recommend}\n"
        "        - {tier: PYBMC, action: approve}"
    )
    assert plain in text
    text = text.replace(plain, binding, 1)
    async with await stack.as_user(ADMIN) as admin:
        r = await admin.post("/api/policy/packs", content=text.encode(), headers={"content-type": "application/yaml"})
        assert r.status_code == 201, r.text
    created = await submit(stack, UNIT2_STAFF[2], ["2025-12-30"])
    assert created["route_steps"][0]["binding"] is True
    head = created["route_steps"][0]["approver_nip"]
    status, view = await decide(stack, head, created["current_task_id"], decision="reject", comment="Tenaga kurang")
    assert status == 200 and view["status"] == "REJECTED"
    assert view["decisions"][-1]["binding"] is True
    async with await stack.as_user(INSPECTOR) as inspector:
        trail = (await inspector.get(f"/api/audit/requests/{created['id']}")).json()
    rejected = next(e for e in trail if e["type"] == "RequestRejected")
    assert rejected["payload"]["citations"][0]["rule_id"] == "kendari.pertimbangan-atasan-mengikat"


async def test_the_projector_reads_a_request_s_rows_in_one_round_trip_as_they_are_stored(stack: RunningStack) -> None:
    """The rows a batch folds over come from one statement (an array of each table's row type); they must be the
    very rows `SELECT *` gives: tasks, leave days, unit days and the JSON and array columns included."""
    created = await submit(stack, STAFF[1], ["2026-01-05", "2026-01-06"])
    status, body = await decide(stack, UNIT_HEAD, created["current_task_id"])
    assert status == 200, body
    pool = await create_pool(stack.settings.require("database_url"), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            ids = [r["request_id"] for r in await conn.fetch("SELECT request_id FROM rm_requests")]
            state = ApprovalState()
            await load_request_rows(conn, state, ids)
            for name in REQUEST_TABLES:
                stored = [dict(r) for r in await conn.fetch(f"SELECT * FROM {name} WHERE request_id = ANY($1)", ids)]
                assert stored, name
                key = state[name].key_of
                loaded = list(state[name].rows.values())
                assert sorted(loaded, key=lambda r: str(key(r))) == sorted(stored, key=lambda r: str(key(r))), name
    finally:
        await pool.close()
