"""Duties during approved flexible days over HTTP, with pack windows a few seconds long."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest

from deploy.infra import InfraAddresses
from policy.bundled import bundled_pack_texts
from tests.conftest import ARTIFACTS, create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

START = datetime.fromisoformat("2025-12-30T07:28:30+08:00")
LUWU = {
    "admin": "197306011997062086",
    "staff": "197904082004042112",
    "unit_head": "198104162003122110",
    "opd_head": "199811212023022109",
}  # BKPSDM-U1
KENDARI = {
    "admin": "199702202019041158",
    "staff": "199505042021012163",
    "unit_head": "197506201999081160",
    "opd_head": "199503222018022159",
}
PESISIR = {"staff": "198603032008072147"}


def variant(name: str, version: str, *replacements: tuple[str, str]) -> str:
    text = bundled_pack_texts()[name].replace("version: 2025.12.1.1", f"version: {version}", 1)
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


async def publish(stack: RunningStack, admin: str, text: str) -> None:
    async with await stack.as_user(admin) as client:
        r = await client.post("/api/policy/packs", content=text.encode(), headers={"content-type": "application/yaml"})
        assert r.status_code == 201, r.text


async def approved(stack: RunningStack, nip: str, body: dict) -> dict:
    async with await stack.as_user(nip) as asn:
        r = await asn.post("/api/requests", json=body)
        assert r.status_code == 201, r.text
        request = r.json()
    task_id = request["current_task_id"]
    for step in request["route_steps"]:
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            task_id = r.json()["current_task_id"]
    assert r.json()["status"] == "APPROVED"
    return r.json()


async def until(moment: str) -> None:
    """Sleep until the simulated clock (which runs in real time from START) passes HH:MM:SS on 30 Dec WITA."""
    target = datetime.fromisoformat(f"2025-12-30T{moment}+08:00")
    await asyncio.sleep(max(0.0, (target - START).total_seconds() - (asyncio.get_running_loop().time() - T0[0])))


T0 = [0.0]


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=START) as running:
        T0[0] = asyncio.get_running_loop().time()
        await publish(
            running,
            LUWU["admin"],
            variant(
                "luwu-utara.yaml",
                "2025.12.80",
                ('{label: pagi, start: "07:30", end: "09:00"}', '{label: pagi, start: "07:28:55", end: "07:29:15"}'),
                ('{label: sore, start: "15:00", end: "16:30"}', '{label: sore, start: "07:29:20", end: "07:29:30"}'),
            ),
        )
        await publish(
            running,
            KENDARI["admin"],
            variant("kendari.yaml", "2025.12.80", ('deadline: "23:59"', 'deadline: "07:29:10"')),
        )
        yield running


async def test_a_day_of_duties(stack: RunningStack) -> None:
    luwu = await approved(
        stack,
        LUWU["staff"],
        {
            "kind": "WFA",
            "dates": ["2025-12-30"],
            "reason": "Bekerja dari kampung",
            "location": {"text": "Masamba", "country": "ID"},
        },
    )
    kendari = await approved(stack, KENDARI["staff"], {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Rekap data"})
    later = await approved(stack, KENDARI["staff"], {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Rekap data"})
    async with await stack.as_user(LUWU["staff"]) as asn:
        early = await asn.post(f"/api/requests/{luwu['id']}/check-ins", json={"text": "Masamba"})
        assert early.status_code == 422 and early.json()["code"] == "outside_checkin_window"
        assert "pagi" in early.json()["detail"] and "WITA" in early.json()["detail"]
        await until("07:28:57")
        ok = await asn.post(
            f"/api/requests/{luwu['id']}/check-ins",
            json={"text": "Masamba, rumah", "lat": -2.5632891, "lon": 120.3259012},
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["duty"]["status"] == "done" and ok.json()["duty"]["label"] == "lokasi pagi"
        twice = await asn.post(f"/api/requests/{luwu['id']}/check-ins", json={"text": "Masamba"})
        assert twice.status_code == 409 and twice.json()["code"] == "already_checked_in"
    async with await stack.as_user(LUWU["unit_head"]) as stranger:
        r = await stranger.post(f"/api/requests/{luwu['id']}/check-ins", json={"text": "x"})
        assert r.status_code == 403
    async with await stack.as_user(KENDARI["staff"]) as asn:
        wrong_day = await asn.post(f"/api/requests/{later['id']}/check-ins", json={"text": "Kendari"})
        assert wrong_day.status_code == 422
        not_yet = await asn.post(f"/api/requests/{later['id']}/reports", json={"kind": "activity", "text": "x"})
        assert not_yet.status_code == 422 and not_yet.json()["code"] in ("not_a_duty_day", "too_early")

    # The afternoon window (07:29:20–07:29:30) passes without a check-in; the report deadline 07:29:10 too.
    await until("07:29:33")
    async with await stack.as_user(LUWU["opd_head"]) as kepala_pd:

        async def missed() -> list[dict]:
            return (await kepala_pd.get("/api/compliance/tasks")).json()

        for _ in range(40):
            tasks = await missed()
            if tasks:
                break
            await asyncio.sleep(0.25)
        assert [t["label"] for t in tasks] == ["lokasi sore"] and tasks[0]["nip"] == LUWU["staff"]
        ack = await kepala_pd.post(
            f"/api/compliance/tasks/{tasks[0]['task_id']}/acknowledge",
            json={"comment": "Sudah dikonfirmasi lewat telepon"},
        )
        assert ack.status_code == 200 and ack.json()["acknowledged_at"]
        again = await kepala_pd.post(f"/api/compliance/tasks/{tasks[0]['task_id']}/acknowledge", json={})
        assert again.status_code == 409
        day = (await kepala_pd.get("/api/compliance", params={"date": "2025-12-30", "unit": "BKPSDM-U1"})).json()
        assert {(d["label"], d["status"]) for d in day} == {("lokasi pagi", "done"), ("lokasi sore", "missed")}
        exported = await kepala_pd.get("/api/compliance/export.csv", params={"date": "2025-12-30"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {(r["kewajiban"], r["status"]) for r in rows if r["nip"] == LUWU["staff"]} == {
            ("lokasi pagi", "done"),
            ("lokasi sore", "missed"),
        }

    async with await stack.as_user(KENDARI["staff"]) as asn:
        late = await asn.post(
            f"/api/requests/{kendari['id']}/reports",
            json={
                "kind": "activity",
                "text": "Merekap data angkutan Nataru",
                "attachment": {"name": "rekap.txt", "content_base64": "UmVrYXAgZGF0YQ=="},
            },
        )
        assert late.status_code == 201, late.text
        assert late.json()["late"] is True and late.json()["duty"]["status"] == "late"
        again = await asn.post(f"/api/requests/{kendari['id']}/reports", json={"kind": "activity", "text": "lagi"})
        assert again.status_code == 409
    async with await stack.as_user("199412172016012157") as inspector:
        events = (await inspector.get(f"/api/audit/requests/{kendari['id']}")).json()
        assert events[-1]["type"] == "RequestApproved"
        assert (await inspector.get("/api/audit/verify")).json()["ok"] is True
    await keep_the_day(stack, {"luwu-utara": luwu["id"], "kendari": kendari["id"]})


async def keep_the_day(stack: RunningStack, requests: dict[str, str]) -> None:
    """The duty streams of 30 Dec, one per region, as an artifact for the record."""
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        day: dict[str, list[dict]] = {}
        for region, request_id in requests.items():
            rows = await conn.fetch(
                "SELECT version, type, actor, occurred_at, payload FROM events WHERE stream_id = $1 ORDER BY version",
                f"compliance-request-{request_id}",
            )
            checked_in = [json.loads(r["payload"]) for r in rows if r["type"] == "CheckInRecorded"]
            # the location is sealed under a key kept as long as the pack says (Luwu Utara: 90 days)
            assert all(":location-90d:" in c["location"]["kid"] for c in checked_in), checked_in
            day[region] = [
                {"version": r["version"], "type": r["type"], "actor": r["actor"], "occurred_at": r["occurred_at"]}
                | {k: v for k, v in json.loads(r["payload"]).items() if k in ("label", "kind", "late", "comment")}
                for r in rows
            ]
    finally:
        await conn.close()
    luwu_types = [e["type"] for e in day["luwu-utara"]]
    assert luwu_types[0] == "DutiesScheduled" and "CheckInRecorded" in luwu_types and "ComplianceMissed" in luwu_types
    assert "ActivityReportSubmitted" in [e["type"] for e in day["kendari"]]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "compliance-day-stream.json").write_text(json.dumps(day, indent=1, default=str))


async def test_pesisir_barat_duties_are_scheduled_in_wib_when_the_first_day_starts(stack: RunningStack) -> None:
    body = {"kind": "WFA", "reason": "Rapat daring", "location": {"text": "Bandar Lampung", "country": "ID"}}
    tomorrow = await approved(stack, PESISIR["staff"], {**body, "dates": ["2025-12-31"]})
    # 07:28 WITA is 06:28 WIB on 30 Dec: today in Pesisir Barat, so its duties are scheduled at once.
    today = await approved(stack, PESISIR["staff"], {**body, "dates": ["2025-12-30"]})
    async with await stack.as_user("198906242015031146") as unit_head:  # SETDA-U1 head
        for _ in range(40):
            duties = (await unit_head.get("/api/compliance", params={"date": "2025-12-30"})).json()
            if any(d["request_id"] == today["id"] for d in duties):
                break
            await asyncio.sleep(0.25)
        later = (await unit_head.get("/api/compliance", params={"date": "2025-12-31"})).json()
    labels = {d["label"] for d in duties if d["request_id"] == today["id"]}
    assert labels == {"e-presensi masuk", "e-presensi pulang", "laporan kinerja"}
    masuk = next(d for d in duties if d["label"] == "e-presensi masuk")
    assert masuk["opens_at"].startswith("2025-12-30T00:00:00")  # 07:00 WIB is 00:00 UTC
    assert not [d for d in later if d["request_id"] == tomorrow["id"]]  # duties begin with their first day
    async with await stack.as_user(PESISIR["staff"]) as asn:
        early = await asn.post(f"/api/requests/{tomorrow['id']}/check-ins", json={"text": "Bandar Lampung"})
        assert early.status_code == 422 and early.json()["code"] == "not_a_duty_day"


PIKET_START = datetime.fromisoformat("2025-12-26T07:29:40+08:00")
BITUNG_ADMIN, BITUNG_UNIT_HEAD = "199410112018092039", "197612241999072063"  # DUKCAPIL-U1 head
ROSTER = ["197211241996071064", "199709222021101065"]


@pytest.fixture(scope="module")
async def piket_stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=PIKET_START) as running:
        await publish(
            running,
            BITUNG_ADMIN,
            variant(
                "bitung.yaml",
                "2025.12.80",
                ('{label: hadir, start: "07:30", end: "09:00"}', '{label: hadir, start: "07:29:40", end: "07:29:55"}'),
            ),
        )
        yield running


async def test_unexcused_absence_on_a_piket_day_is_visible(piket_stack: RunningStack) -> None:
    async with await piket_stack.as_user(BITUNG_UNIT_HEAD) as head:
        bad_day = await head.post("/api/piket", json={"day": "2025-12-29", "nips": ROSTER})
        assert bad_day.status_code == 422 and bad_day.json()["code"] == "not_a_piket_day"
        r = await head.post("/api/piket", json={"day": "2025-12-26", "nips": ROSTER})
        assert r.status_code == 201, r.text
        roster = r.json()
    async with await piket_stack.as_user(ROSTER[0]) as present:
        checked = await present.post(f"/api/piket/{roster['id']}/check-ins")
        assert checked.status_code == 201, checked.text
    async with await piket_stack.as_user("197503092000012066") as not_on_roster:
        refused = await not_on_roster.post(f"/api/piket/{roster['id']}/check-ins")
        assert refused.status_code == 403, refused.text
    async with await piket_stack.as_user(BITUNG_UNIT_HEAD) as head:
        for _ in range(80):
            tasks = (await head.get("/api/compliance/tasks")).json()
            if tasks:
                break
            await asyncio.sleep(0.25)
        assert [t["nip"] for t in tasks] == [ROSTER[1]]
        day = (await head.get("/api/compliance", params={"date": "2025-12-26"})).json()
        assert {(d["nip"], d["status"]) for d in day} == {(ROSTER[0], "done"), (ROSTER[1], "missed")}
