"""The approval lifecycle over HTTP on the real stack: timers, return and resubmit, cancel, bulk, inbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from policy.bundled import bundled_pack_texts
from tests.conftest import ARTIFACTS, create_database
from tests.eventually import eventually
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

ADMIN = "199702202019041158"
UNIT_HEAD = "197506201999081160"  # DISHUB-U1
OPD_HEAD = "199503222018022159"  # DISHUB
PPK = "198609222008011156"
STAFF = ["199505042021012163", "197809212003122164", "197603131999112162", "197610092002091161"]
UNIT2_STAFF = ["198912022013092166", "199301242015041167", "198309122005032168"]  # DISHUB-U2
UNIT2_HEAD = "198110052005061165"
LEAVE = {"leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"}}


def fast_kendari_pack(version: str, remind: str, escalate: str, escalate_to: str = "next_tier") -> str:
    text = bundled_pack_texts()["kendari.yaml"]
    text = text.replace("version: 2025.12.1.1", f"version: {version}", 1)
    text = text.replace(
        "  remind_after: PT8H\n  escalate_after: P1D\n  escalate_to: next_tier",
        f"  remind_after: {remind}\n  escalate_after: {escalate}\n  escalate_to: {escalate_to}",
    )
    assert f"remind_after: {remind}" in text
    return text


async def publish(stack: RunningStack, text: str) -> dict:
    async with await stack.as_user(ADMIN) as admin:
        r = await admin.post("/api/policy/packs", content=text.encode(), headers={"content-type": "application/yaml"})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        await publish(running, fast_kendari_pack("2025.12.90", "PT2S", "PT4S"))
        yield running


async def submit(stack: RunningStack, nip: str, body: dict) -> dict:
    async with await stack.as_user(nip) as asn:
        r = await asn.post("/api/requests", json=body)
        assert r.status_code == 201, r.text
        return r.json()


async def decide(stack: RunningStack, nip: str, task_id: str, decision: str = "approve", comment: str | None = None):
    async with await stack.as_user(nip) as approver:
        return await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": decision, "comment": comment})


async def audit_types(stack: RunningStack, request_id: str) -> list[str]:
    async with await stack.as_user("199412172016012157") as inspector:
        r = await inspector.get(f"/api/audit/requests/{request_id}")
        return [e["type"] for e in r.json()]


def wfh(day: str, reason: str = "Menyelesaikan laporan di rumah") -> dict:
    return {"kind": "WFH", "dates": [day], "reason": reason}


async def test_publishing_a_pack_version_is_validated_and_scoped(stack: RunningStack) -> None:
    async with await stack.as_user(ADMIN) as admin:
        broken = await admin.post(
            "/api/policy/packs", content=b"id: kendari\nversion: [", headers={"content-type": "application/yaml"}
        )
        assert broken.status_code == 422 and broken.json()["code"] == "pack_invalid" and broken.json()["line"]
        same_version = fast_kendari_pack("2025.12.90", "PT3S", "PT9S")
        conflict = await admin.post(
            "/api/policy/packs", content=same_version.encode(), headers={"content-type": "application/yaml"}
        )
        assert conflict.status_code == 409
    bitung = bundled_pack_texts()["bitung.yaml"].replace("version: 2025.12.1.1", "version: 2025.12.91", 1)
    async with await stack.as_user(ADMIN) as admin:
        foreign = await admin.post(
            "/api/policy/packs", content=bitung.encode(), headers={"content-type": "application/yaml"}
        )
        assert foreign.status_code == 403
    async with await stack.as_user(STAFF[0]) as anyone:
        pack = (await anyone.get("/api/policy/packs/kendari")).json()
        assert pack["version"] == "2025.12.90" and "PT2S" in pack["text"] and len(pack["sha256"]) == 64


async def test_reminder_overdue_mark_and_escalation_to_the_next_tier(stack: RunningStack) -> None:
    created = await submit(stack, STAFF[0], wfh("2025-12-31"))
    assert created["policy"]["version"] == "2025.12.90"

    async def overdue() -> bool:
        async with await stack.as_user(UNIT_HEAD) as head:
            tasks = (await head.get("/api/tasks")).json()
            mine = [t for t in tasks if t["request_id"] == created["id"]]
            return bool(mine) and mine[0]["overdue"] and mine[0]["reminders"] == 1

    await eventually(overdue)

    async def escalated() -> list[dict]:
        async with await stack.as_user(OPD_HEAD) as opd:
            tasks = (await opd.get("/api/tasks")).json()
            return [t for t in tasks if t["request_id"] == created["id"]]

    task = (await eventually(escalated))[0]
    assert task["tier"] == "OPD_HEAD"
    types = await audit_types(stack, created["id"])
    assert types.index("TaskReminded") < types.index("TaskEscalated")
    stale = await decide(stack, UNIT_HEAD, created["current_task_id"])
    assert stale.status_code == 409
    r = await decide(stack, OPD_HEAD, task["task_id"])
    assert r.status_code == 200 and r.json()["status"] == "APPROVED"


async def test_return_resubmit_keeps_every_round(stack: RunningStack) -> None:
    created = await submit(stack, STAFF[1], wfh("2025-12-30", "Alasan pertama"))
    r = await decide(stack, UNIT_HEAD, created["current_task_id"], "return", "Tambahkan rencana kerja")
    assert r.status_code == 200 and r.json()["status"] == "RETURNED"
    async with await stack.as_user(STAFF[2]) as other:
        assert (await other.post(f"/api/requests/{created['id']}/resubmit", json=wfh("2025-12-30"))).status_code == 403
    async with await stack.as_user(STAFF[1]) as asn:
        r = await asn.post(
            f"/api/requests/{created['id']}/resubmit",
            json={**wfh("2025-12-30", "Alasan diperbaiki"), "work_plan": "Rekap data angkutan"},
        )
        assert r.status_code == 200, r.text
        again = r.json()
    assert again["status"] == "PENDING" and again["round"] == 2 and again["current_tier"] == "UNIT_HEAD"
    assert again["reason"] == "Alasan diperbaiki" and again["work_plan"] == "Rekap data angkutan"
    r = await decide(stack, UNIT_HEAD, again["current_task_id"])
    r = await decide(stack, OPD_HEAD, r.json()["current_task_id"])
    final = r.json()
    assert final["status"] == "APPROVED"
    assert [(d["round"], d["decision"]) for d in final["decisions"]] == [(1, "return"), (2, "approve"), (2, "approve")]
    types = await audit_types(stack, created["id"])
    assert types.count("RouteDetermined") == 2 and "RequestReturned" in types and "RequestResubmitted" in types


async def test_one_request_returned_resubmitted_escalated_and_approved(stack: RunningStack) -> None:
    """The whole story in one stream; the stream is kept as an artifact for the record."""
    created = await submit(stack, STAFF[1], wfh("2025-12-31", "Menyusun laporan akhir tahun"))
    r = await decide(stack, UNIT_HEAD, created["current_task_id"], "return", "Lampirkan rencana kerja")
    assert r.status_code == 200 and r.json()["status"] == "RETURNED"
    async with await stack.as_user(STAFF[1]) as asn:
        r = await asn.post(
            f"/api/requests/{created['id']}/resubmit",
            json={**wfh("2025-12-31", "Menyusun laporan akhir tahun"), "work_plan": "Rekap kinerja 2025"},
        )
        assert r.status_code == 200 and r.json()["round"] == 2, r.text

    async def escalated() -> list[dict]:
        async with await stack.as_user(OPD_HEAD) as opd:
            return [t for t in (await opd.get("/api/tasks")).json() if t["request_id"] == created["id"]]

    task = (await eventually(escalated))[0]  # the unit head sits on round 2: reminded at 2 s, escalated at 4 s
    r = await decide(stack, OPD_HEAD, task["task_id"])
    assert r.status_code == 200 and r.json()["status"] == "APPROVED", r.text

    async with await stack.as_user("199412172016012157") as inspector:
        r = await inspector.get(f"/api/audit/requests/{created['id']}")
        assert r.headers["X-Stream-Verified"] == "true"
        events = r.json()
    story = [
        {"version": e["version"], "type": e["type"], "actor": e["actor"], "occurred_at": e["occurred_at"]}
        | ({"tier": e["payload"]["tier"]} if "tier" in e["payload"] else {})
        | ({"decision": e["payload"]["decision"]} if "decision" in e["payload"] else {})
        for e in events
    ]
    types = [e["type"] for e in story]
    assert types[0] == "RequestSubmitted" and types[-1] == "RequestApproved"
    returned, resubmitted = types.index("RequestReturned"), types.index("RequestResubmitted")
    reminded, escalation = types.index("TaskReminded"), types.index("TaskEscalated")
    assert returned < resubmitted < reminded < escalation < len(types) - 1
    assert [e["version"] for e in story] == list(range(1, len(story) + 1))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "lifecycle-stream.json").write_text(json.dumps(story, indent=1))


async def test_cancel_before_the_decision_and_after_approval_releases_the_leave(stack: RunningStack) -> None:
    pending = await submit(stack, STAFF[2], wfh("2025-12-29"))
    async with await stack.as_user(STAFF[2]) as asn:
        r = await asn.post(f"/api/requests/{pending['id']}/cancel", json={"reason": "Tidak jadi"})
        assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
        again = await asn.post(f"/api/requests/{pending['id']}/cancel", json={})
        assert again.status_code == 409
    leave = await submit(
        stack,
        STAFF[3],
        {"kind": "CUTI_TAHUNAN", "dates": ["2025-12-30", "2025-12-31"], "reason": "Acara keluarga", **LEAVE},
    )
    assert leave["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
    async with await stack.as_user(UNIT_HEAD) as head:
        inbox = (await head.get("/api/tasks", params={"kind": "CUTI_TAHUNAN"})).json()
        task = next(t for t in inbox if t["request_id"] == leave["id"])
        assert task["balance"] == {"year": 2025, "entitlement": 12, "reserved": 2, "used": 0, "available": 10}
        assert all(t["kind"] == "CUTI_TAHUNAN" for t in inbox)
    task_id = leave["current_task_id"]
    for nip in (UNIT_HEAD, OPD_HEAD, PPK):
        r = await decide(stack, nip, task_id)
        assert r.status_code == 200, r.text
        task_id = r.json()["current_task_id"]
    assert r.json()["status"] == "APPROVED"
    async with await stack.as_user(STAFF[3]) as asn:
        r = await asn.post(
            f"/api/requests/{leave['id']}/cancel",
            json={"reason": "Acara diundur"},
            headers={"Idempotency-Key": "cancel-1"},
        )
        assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
        retry = await asn.post(
            f"/api/requests/{leave['id']}/cancel",
            json={"reason": "Acara diundur"},
            headers={"Idempotency-Key": "cancel-1"},
        )
        assert retry.status_code == 200 and retry.json()["status"] == "CANCELLED"
    types = await audit_types(stack, leave["id"])
    assert types[-1] == "RequestCancelled" and types.count("RequestCancelled") == 1
    # the days came back: a new request for the same days is debited from a full balance again
    again = await submit(
        stack,
        STAFF[3],
        {"kind": "CUTI_TAHUNAN", "dates": ["2025-12-30", "2025-12-31"], "reason": "Acara keluarga", **LEAVE},
    )
    assert again["leave_debit"]["available"] == 12


async def test_bulk_decisions_succeed_or_fail_item_by_item(stack: RunningStack) -> None:
    a = await submit(stack, UNIT2_STAFF[0], wfh("2025-12-29"))
    b = await submit(stack, UNIT2_STAFF[1], wfh("2025-12-29"))
    decided = await submit(stack, UNIT2_STAFF[2], wfh("2025-12-29"))
    assert (await decide(stack, UNIT2_HEAD, decided["current_task_id"])).status_code == 200
    async with await stack.as_user(UNIT2_HEAD) as head:
        r = await head.post(
            "/api/tasks/decisions",
            json={
                "items": [
                    {"task_id": a["current_task_id"], "decision": "approve"},
                    {"task_id": b["current_task_id"], "decision": "reject"},
                    {"task_id": decided["current_task_id"], "decision": "approve"},
                    {"task_id": b["current_task_id"].replace("-r1s0", "-r9s9"), "decision": "approve"},
                ]
            },
        )
    assert r.status_code == 200
    body = r.json()
    by_task = {(item["task_id"], item["code"]): item for item in body["results"]}
    assert body["succeeded"] == 1 and body["failed"] == 3
    assert by_task[(a["current_task_id"], None)]["request"]["current_tier"] == "OPD_HEAD"
    assert by_task[(b["current_task_id"], "comment_required")]["status"] == 422
    assert by_task[(decided["current_task_id"], "already_decided")]["status"] == 409
    async with await stack.as_user(UNIT2_STAFF[1]) as asn:
        assert (await asn.get(f"/api/requests/{b['id']}")).json()["status"] == "PENDING"


async def test_inbox_filters_and_unit_picture(stack: RunningStack) -> None:
    async with await stack.as_user(UNIT2_HEAD) as head:
        everything = (await head.get("/api/tasks")).json()
        on_day = (await head.get("/api/tasks", params={"date": "2025-12-29"})).json()
        other_unit = (await head.get("/api/tasks", params={"unit": "DISHUB-U1"})).json()
    assert on_day and all("2025-12-29" in t["dates"] for t in on_day)
    assert other_unit == []
    assert [t["assigned_at"] for t in everything] == sorted(t["assigned_at"] for t in everything)
    async with await stack.as_user(OPD_HEAD) as opd:
        tasks = (await opd.get("/api/tasks", params={"unit": "DISHUB-U2", "date": "2025-12-29"})).json()
    assert tasks
    load = tasks[0]["unit_load"][0]
    assert load["date"] == "2025-12-29" and load["unit_size"] == 5
    assert load["WFO"] + load["WFH"] + load["WFA"] + load["CUTI"] == 5


async def test_worker_restart_mid_approval_and_timers_while_it_is_down(stack: RunningStack) -> None:
    created = await submit(stack, STAFF[0], wfh("2025-12-30"))
    await stack.stop_component("worker")
    await asyncio.sleep(3)  # the 2 s reminder comes due while no worker runs
    await stack.start_component("worker")

    async def reminded() -> bool:
        return "TaskReminded" in await audit_types(stack, created["id"])

    await eventually(reminded)
    r = await decide(stack, UNIT_HEAD, created["current_task_id"])
    assert r.status_code == 200, r.text
    r = await decide(stack, OPD_HEAD, r.json()["current_task_id"])
    assert r.json()["status"] == "APPROVED"


async def test_delegation_lets_a_colleague_decide_on_behalf_of_the_holder(stack: RunningStack) -> None:
    delegate = "197603131999112162"  # a DISHUB-U1 colleague
    created = await submit(stack, UNIT2_STAFF[0], wfh("2025-12-31"))
    async with await stack.as_user(UNIT2_HEAD) as holder:
        r = await holder.post(
            "/api/delegations",
            json={
                "delegate_nip": delegate,
                "tiers": ["UNIT_HEAD"],
                "from": "2025-12-22T00:00:00+08:00",
                "to": "2026-01-05T00:00:00+08:00",
            },
        )
        assert r.status_code == 201, r.text
    async with await stack.as_user(delegate) as acting:
        tasks = (await acting.get("/api/tasks")).json()
        task = next(t for t in tasks if t["request_id"] == created["id"])
        assert task["via"] == "delegation" and task["on_behalf_of"] == UNIT2_HEAD
        r = await acting.post(f"/api/tasks/{task['task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 200, r.text
        decision = r.json()["decisions"][-1]
        assert decision["actor"] == delegate and decision["on_behalf_of"] == UNIT2_HEAD
    async with await stack.as_user(STAFF[2]) as stranger:
        r = await stranger.post(
            "/api/delegations",
            json={
                "delegate_nip": delegate,
                "tiers": ["UNIT_HEAD"],
                "from": "2025-12-22T00:00:00+08:00",
                "to": "2026-01-05T00:00:00+08:00",
            },
        )
        assert r.status_code == 422 and r.json()["code"] == "not_a_holder"


async def test_resubmitting_leave_with_more_days_reserves_the_new_amount(stack: RunningStack) -> None:
    nip = "197610092002091161"  # Kurnia Lestari, PPPK_PW, DISHUB-U1
    body = {"kind": "CUTI_TAHUNAN", "dates": ["2026-01-05", "2026-01-06"], "reason": "Urusan keluarga", **LEAVE}
    created = await submit(stack, nip, body)
    r = await decide(stack, UNIT_HEAD, created["current_task_id"], "return", "Mohon tambah satu hari")
    assert r.json()["status"] == "RETURNED"
    async with await stack.as_user(nip) as asn:
        again = await asn.post(
            f"/api/requests/{created['id']}/resubmit",
            json={**body, "dates": ["2026-01-05", "2026-01-06", "2026-01-07"]},
        )
        assert again.status_code == 200, again.text
    async with await stack.as_user(UNIT_HEAD) as head:
        tasks = (await head.get("/api/tasks", params={"kind": "CUTI_TAHUNAN"})).json()
        task = next(t for t in tasks if t["request_id"] == created["id"])
    assert task["balance"]["reserved"] == 3 and task["balance"]["available"] == task["balance"]["entitlement"] - 3
