"""Every region's circular and the national baseline, end to end over HTTP on the real stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack

pytestmark = pytest.mark.e2e

# Five more people for Bitung's Dukcapil Bidang 1, so the unit has ten (its head included).
EXTRA_DUKCAPIL = "\n".join(
    f"19900101201501120{i},Pegawai Uji {i},PNS,bitung,DUKCAPIL,Dinas Dukcapil,direct_service,DUKCAPIL-U1,Bidang 1,,"
    for i in range(1, 6)
)
DUKCAPIL_U1 = [
    "197612241999072063",  # head, Budi Eka
    "197211241996071064",
    "199709222021101065",
    "197503092000012066",
    "197701102000061067",
    *(f"19900101201501120{i}" for i in range(1, 6)),
]
DUKCAPIL_HEAD, DUKCAPIL_OPD_HEAD = "197612241999072063", "199607172020121062"


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    directory = SAMPLE_DIRECTORY.read_text().rstrip("\n") + "\n" + EXTRA_DUKCAPIL + "\n"
    async with running_stack(infra, await create_database(infra), directory=directory) as running:
        yield running


async def post(stack: RunningStack, nip: str, body: dict):
    async with await stack.as_user(nip) as client:
        return await client.post("/api/requests", json=body)


def rule_ids(problem_or_request: dict) -> set[str]:
    return {c["rule_id"] for c in problem_or_request.get("citations", [])}


async def approve_all(stack: RunningStack, request: dict) -> dict:
    task_id = request["current_task_id"]
    for step in request["route_steps"]:
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            request = r.json()
            task_id = request["current_task_id"]
    return request


async def test_kutai_timur_flexible_work_in_its_window(stack: RunningStack) -> None:
    r = await post(
        stack,
        "197010051996022022",
        {"kind": "WFH", "dates": ["2025-12-29", "2025-12-30"], "reason": "Penyusunan laporan akhir tahun"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["route"] == ["UNIT_HEAD", "OPD_HEAD"] and body["policy"]["id"] == "kutai-timur"
    assert "kutai-timur.masa-fleksibel" in rule_ids(body)
    assert (await approve_all(stack, body))["status"] == "APPROVED"


async def test_bitung_vital_opd_stays_in_the_office_and_abroad_needs_the_ppk(stack: RunningStack) -> None:
    vital = await post(stack, "199403062017081042", {"kind": "WFH", "dates": ["2025-12-29"], "reason": "x y z"})
    assert vital.status_code == 422 and vital.json()["code"] == "vital_opd_wfo_only"
    assert "bitung.opd-vital-wfo" in rule_ids(vital.json())
    abroad = await post(
        stack,
        "199608182018111074",
        {
            "kind": "WFA",
            "dates": ["2026-01-02"],
            "location": {"text": "Davao", "country": "PH"},
            "reason": "Urusan keluarga",
        },
    )
    assert abroad.status_code == 201, abroad.text
    assert abroad.json()["route"][-1] == "PPK"
    assert "bitung.izin-ppk-luar-negeri" in {s["citation"]["rule_id"] for s in abroad.json()["route_steps"]}
    piket = await post(stack, "197801152000121075", {"kind": "WFH", "dates": ["2025-12-26"], "reason": "x y z"})
    assert piket.status_code == 422 and piket.json()["code"] == "non_working_day"


async def test_luwu_utara_is_wfa_only_with_a_location_and_check_ins(stack: RunningStack) -> None:
    staff = "197904082004042112"
    wfh = await post(stack, staff, {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Bekerja dari rumah"})
    assert wfh.status_code == 422 and wfh.json()["code"] == "kind_not_allowed"
    no_place = await post(stack, staff, {"kind": "WFA", "dates": ["2025-12-30"], "reason": "Bekerja dari kampung"})
    assert no_place.status_code == 422
    ok = await post(
        stack,
        staff,
        {
            "kind": "WFA",
            "dates": ["2025-12-30"],
            "reason": "Bekerja dari kampung",
            "location": {"text": "Masamba", "country": "ID"},
        },
    )
    assert ok.status_code == 201, ok.text
    duties = {o["kind"]: o for o in ok.json()["obligations"]}
    assert duties["location_checkin"]["report_to"] == "OPD_HEAD"
    assert len(duties["location_checkin"]["windows"]) == 2


async def test_pesisir_barat_recommend_then_approve_in_wib_and_direct_service_stays(stack: RunningStack) -> None:
    direct = await post(
        stack,
        "199606142020032139",
        {"kind": "WFA", "dates": ["2025-12-30"], "reason": "x y z", "location": {"text": "Krui", "country": "ID"}},
    )
    assert direct.status_code == 422 and direct.json()["code"] == "direct_service_wfo"
    ok = await post(
        stack,
        "198603032008072147",
        {
            "kind": "WFA",
            "dates": ["2025-12-30"],
            "reason": "Rapat daring",
            "location": {"text": "Bandar Lampung", "country": "ID"},
        },
    )
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert [(s["tier"], s["action"]) for s in body["route_steps"]] == [
        ("UNIT_HEAD", "recommend"),
        ("OPD_HEAD", "approve"),
    ]
    assert body["timezone"] == "Asia/Jakarta" and body["submitted_at_local"].endswith("WIB")
    assert {o["kind"] for o in body["obligations"]} >= {"e_presensi", "performance_report"}


async def test_kendari_annual_leave_goes_to_the_wali_kota(stack: RunningStack) -> None:
    r = await post(
        stack,
        "197111271997062173",
        {
            "kind": "CUTI_TAHUNAN",
            "dates": ["2025-12-29", "2025-12-30"],
            "reason": "Acara keluarga",
            "leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"},
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
    assert body["leave_debit"]["days"] == 2
    assert (await approve_all(stack, body))["status"] == "APPROVED"


async def test_national_baseline_outside_the_windows_allows_two_days_a_week(stack: RunningStack) -> None:
    three = await post(
        stack,
        "199504132021101184",
        {"kind": "WFH", "dates": ["2026-01-05", "2026-01-06", "2026-01-07"], "reason": "Pekerjaan analisis"},
    )
    assert three.status_code == 422 and three.json()["code"] == "weekly_flexible_limit"
    assert three.json()["policy"]["id"] == "national-baseline"
    two = await post(
        stack,
        "199504132021101184",
        {"kind": "WFH", "dates": ["2026-01-05", "2026-01-06"], "reason": "Pekerjaan analisis"},
    )
    assert two.status_code == 201 and two.json()["policy"]["id"] == "national-baseline"
    past = await post(stack, "199504132021101184", {"kind": "WFH", "dates": ["2025-12-01"], "reason": "x y z"})
    assert past.status_code == 422 and past.json()["code"] == "past_date" and past.json()["citations"]


async def test_bitung_unit_cap_holds_under_thirty_simultaneous_requests(stack: RunningStack) -> None:
    body = {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Menyelesaikan arsip kependudukan"}
    submitted = await asyncio.gather(*(post(stack, DUKCAPIL_U1[i % 10], body) for i in range(30)))
    assert [r.status_code for r in submitted] == [201] * 30, [r.text for r in submitted if r.status_code != 201]
    requests = [r.json() for r in submitted]
    assert all(req["route"][-1] == "OPD_HEAD" for req in requests)

    async def first_tier(req: dict) -> dict:
        if req["current_tier"] != "UNIT_HEAD":
            return req
        async with await stack.as_user(DUKCAPIL_HEAD) as head:
            r = await head.post(f"/api/tasks/{req['current_task_id']}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            return r.json()

    at_opd_head = await asyncio.gather(*(first_tier(req) for req in requests))

    async def final(req: dict) -> tuple[int, dict]:
        async with await stack.as_user(DUKCAPIL_OPD_HEAD) as opd:
            r = await opd.post(f"/api/tasks/{req['current_task_id']}/decision", json={"decision": "approve"})
            return r.status_code, r.json()

    outcomes = await asyncio.gather(*(final(req) for req in at_opd_head))
    approved = [body for status, body in outcomes if status == 200]
    refused = [body for status, body in outcomes if status != 200]
    assert len(approved) == 5 and all(b["status"] == "APPROVED" for b in approved)
    assert len(refused) == 25
    assert all(b["code"] == "unit_cap_reached" and "bitung.pelayanan-langsung-50-50" in rule_ids(b) for b in refused)
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        statuses = await conn.fetch(
            "SELECT status, count(*) FROM rm_requests WHERE unit_code = 'DUKCAPIL-U1' AND region = 'bitung' "
            "AND '2025-12-30' = ANY(dates) GROUP BY status"
        )
        away = await conn.fetchval(
            "SELECT count(*) FROM rm_unit_day WHERE unit_code = 'DUKCAPIL-U1' "
            "AND region = 'bitung' AND day = '2025-12-30'"
        )
    finally:
        await conn.close()
    assert {r["status"]: r["count"] for r in statuses} == {"APPROVED": 5, "REJECTED": 25}
    assert away == 5
    async with await stack.as_user("199604012020042038") as inspector:
        assert (await inspector.get("/api/audit/verify")).json()["ok"] is True
