"""One request through the whole real pipeline: HTTP → Temporal → Postgres → NATS → projections → HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

KENDARI_STAFF = "199505042021012163"  # Putri Teguh, DISHUB-U1
KENDARI_UNIT_HEAD = "197506201999081160"  # Indah Sari, DISHUB-U1
KENDARI_OPD_HEAD = "199503222018022159"  # Yusuf Indah, DISHUB
KENDARI_PPK = "198609222008011156"  # Citra Kurnia, Wali Kota
KENDARI_INSPECTOR = "199412172016012157"
OTHER_UNIT_HEAD = "199306072018061182"  # Made Teguh, DISKOMINFO-U1
COLLEAGUE = "197809212003122164"  # Indah Made, DISHUB-U1
ANOTHER_COLLEAGUE = "197603131999112162"  # Kurnia Made, DISHUB-U1


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


WFA_ABROAD = {
    "kind": "WFA",
    "dates": ["2025-12-29", "2025-12-30"],
    "location": {"text": "Kuala Lumpur, rumah keluarga", "country": "MY"},
    "reason": "Mendampingi orang tua berobat",
    "work_plan": "Menyusun laporan lalu lintas akhir tahun",
}


async def test_kendari_wfa_abroad_goes_through_three_tiers(stack: RunningStack) -> None:
    async with await stack.as_user(KENDARI_STAFF) as asn:
        r = await asn.post("/api/requests", json=WFA_ABROAD)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "PENDING"
        assert created["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
        assert created["current_tier"] == "UNIT_HEAD"
        assert created["citations"]
        request_id = created["id"]

    for nip, tier in ((KENDARI_UNIT_HEAD, "UNIT_HEAD"), (KENDARI_OPD_HEAD, "OPD_HEAD"), (KENDARI_PPK, "PPK")):
        async with await stack.as_user(nip) as approver:
            tasks = (await approver.get("/api/tasks")).json()
            mine = [t for t in tasks if t["request_id"] == request_id]
            assert len(mine) == 1 and mine[0]["tier"] == tier
            r = await approver.post(
                f"/api/tasks/{mine[0]['task_id']}/decision", json={"decision": "approve", "comment": "Setuju"}
            )
            assert r.status_code == 200, r.text

    async with await stack.as_user(KENDARI_STAFF) as asn:
        final = (await asn.get(f"/api/requests/{request_id}")).json()
        assert final["status"] == "APPROVED"
        assert [d["tier"] for d in final["decisions"]] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
        assert final["reason"] == WFA_ABROAD["reason"]

    async with await stack.as_user(KENDARI_INSPECTOR) as inspector:
        audit = (await inspector.get(f"/api/audit/requests/{request_id}")).json()
        types = [e["type"] for e in audit]
        assert types[0] == "RequestSubmitted" and types[-1] == "RequestApproved"
        assert types.count("DecisionRecorded") == 3
        verify = (await inspector.get("/api/audit/verify")).json()
        assert verify["ok"] is True and verify["events_checked"] >= len(types)


async def _submit(stack: RunningStack, nip: str, body: dict, **headers: str) -> dict:
    async with await stack.as_user(nip) as asn:
        r = await asn.post("/api/requests", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()


async def _event_count(stack: RunningStack) -> int:
    import asyncpg

    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


WFH = {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Merawat anak yang sakit"}


async def test_wrong_approver_self_approval_and_second_decision_are_refused(stack: RunningStack) -> None:
    created = await _submit(stack, KENDARI_STAFF, WFH)
    task_id = created["current_task_id"]
    async with await stack.as_user(OTHER_UNIT_HEAD) as stranger:
        r = await stranger.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and r.json()["code"] == "not_assignee"
        assert r.headers["content-type"].startswith("application/problem+json")
    async with await stack.as_user(KENDARI_STAFF) as requester:
        r = await requester.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and r.json()["code"] == "self_approval"
    async with await stack.as_user(KENDARI_UNIT_HEAD) as head:
        assert (await head.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})).status_code == 200
        again = await head.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
        assert again.status_code == 409 and again.json()["code"] == "already_decided"
        rejected_late = await head.post(f"/api/tasks/{task_id}/decision", json={"decision": "reject", "comment": "x"})
        assert rejected_late.status_code == 409


async def test_reject_ends_the_request_and_needs_a_comment(stack: RunningStack) -> None:
    created = await _submit(stack, COLLEAGUE, {**WFH, "dates": ["2025-12-29"]})
    task_id = created["current_task_id"]
    async with await stack.as_user(KENDARI_UNIT_HEAD) as head:
        no_comment = await head.post(f"/api/tasks/{task_id}/decision", json={"decision": "reject"})
        assert no_comment.status_code == 422 and no_comment.json()["code"] == "comment_required"
        r = await head.post(
            f"/api/tasks/{task_id}/decision", json={"decision": "reject", "comment": "Layanan loket sedang padat"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "REJECTED" and body["current_tier"] is None
        assert body["decisions"][-1]["comment"] == "Layanan loket sedang padat"
    async with await stack.as_user(KENDARI_OPD_HEAD) as opd:
        tasks = (await opd.get("/api/tasks")).json()
        assert all(t["request_id"] != created["id"] for t in tasks)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"kind": "WFH", "dates": ["2025-12-30"], "reason": "x"', "malformed_json"),
        (b'{"kind": "WFX", "dates": ["2025-12-30"], "reason": "x"}', "validation_error"),
        (b'{"kind": "WFH", "dates": ["2025-13-45"], "reason": "x"}', "validation_error"),
        (b'{"kind": "WFH", "dates": [], "reason": "x"}', "validation_error"),
        (b'{"kind": "WFH", "dates": ["2025-12-30"]}', "validation_error"),
        (b'{"kind": "WFH", "dates": ["2025-12-30"], "reason": "nul \\u0000 byte"}', "validation_error"),
    ],
)
async def test_bad_input_is_refused_with_problem_json_and_nothing_is_written(
    stack: RunningStack, content: bytes, code: str
) -> None:
    before = await _event_count(stack)
    async with await stack.as_user(KENDARI_STAFF) as asn:
        r = await asn.post("/api/requests", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert await _event_count(stack) == before


async def test_same_idempotency_key_gives_the_same_request(stack: RunningStack) -> None:
    body = {**WFH, "dates": ["2025-12-30"]}
    first = await _submit(stack, ANOTHER_COLLEAGUE, body, **{"Idempotency-Key": "abc-123"})
    before = await _event_count(stack)
    again = await _submit(stack, ANOTHER_COLLEAGUE, body, **{"Idempotency-Key": "abc-123"})
    assert again["id"] == first["id"]
    assert await _event_count(stack) == before
    async with await stack.as_user(ANOTHER_COLLEAGUE) as asn:
        changed = await asn.post(
            "/api/requests", json={**WFH, "dates": ["2025-12-29"]}, headers={"Idempotency-Key": "abc-123"}
        )
        assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"


async def test_unauthenticated_and_forged_tokens_are_refused(stack: RunningStack) -> None:
    async with stack.client() as anonymous:
        assert (await anonymous.get("/api/tasks")).status_code == 401
        forged = await anonymous.get("/api/tasks", headers={"Authorization": f"Bearer {KENDARI_PPK}"})
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"


async def test_plh_never_sees_or_decides_their_own_request(stack: RunningStack) -> None:
    plh = "197001011996062169"  # Dewi Sari acts for her own unit head, Putri Hendra (DISHUB-U2)
    holder = "198110052005061165"
    created = await _submit(stack, plh, {**WFH, "dates": ["2025-12-30"]})
    assert created["route_steps"][0]["approver_nip"] == holder
    async with await stack.as_user(plh) as acting:
        assert all(t["request_id"] != created["id"] for t in (await acting.get("/api/tasks")).json())
        r = await acting.post(f"/api/tasks/{created['current_task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and r.json()["code"] == "self_approval"
    colleague = await _submit(stack, "198912022013092166", {**WFH, "dates": ["2025-12-30"]})
    async with await stack.as_user(plh) as acting:
        inbox = (await acting.get("/api/tasks")).json()
        task = next(t for t in inbox if t["request_id"] == colleague["id"])
        assert task["via"] == "acting" and task["on_behalf_of"] == holder
        r = await acting.post(f"/api/tasks/{task['task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 200
        decision = r.json()["decisions"][0]
        assert decision["actor"] == plh and decision["on_behalf_of"] == holder
