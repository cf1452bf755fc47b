"""Permission to travel abroad (IZIN_LUAR_NEGERI) end to end over HTTP: routes per region, the letter, the
board, and a personal trip linked with the leave that covers its working days. The clock is the demo's,
22 Dec 2025 09:00 WITA."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import portal_client, token_of
from tests.conftest import create_database
from tests.e2e.test_notifications_and_letters import settled
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

BITUNG_STAFF = "197210051996052078"  # Yusuf Wulan, BKPSDM Bidang 1 (support)
BITUNG_UNIT_HEAD = "199608182018111074"  # Teguh Hendra, head of BKPSDM Bidang 1
BITUNG_OTHER = "197802282002041076"  # Hendra Putri, BKPSDM Bidang 1, PPPK paruh waktu
BITUNG_PPK = "199512212017091037"
KENDARI_STAFF = "197603131999112162"  # Dishub Bidang 1
KENDARI_UNIT_HEAD, KENDARI_PPK = "197506201999081160", "198609222008011156"
SINGAPORE = {"text": "Singapura", "country": "SG"}
# Fri 26 Dec (cuti bersama, piket day), Sat 27, Sun 28 Dec 2025
HOLIDAY_TRIP = ["2025-12-26", "2025-12-27", "2025-12-28"]


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def submit(stack: RunningStack, nip: str, body: dict):
    async with await stack.as_user(nip) as client:
        return await client.post("/api/requests", json=body)


async def approve_all(stack: RunningStack, request: dict) -> dict:
    task_id = request["current_task_id"]
    for step in request["route_steps"]:
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            request = r.json()
            task_id = request["current_task_id"]
    return request


def trip(dates: list[str], purpose: str, **extra: object) -> dict:
    return {
        "kind": "IZIN_LUAR_NEGERI",
        "dates": dates,
        "location": SINGAPORE,
        "travel_purpose": purpose,
        "reason": "Menghadiri pernikahan saudara",
    } | extra


async def test_bitung_trip_over_the_holiday_and_weekend_goes_to_the_ppk_and_gets_a_letter(stack: RunningStack) -> None:
    r = await submit(stack, BITUNG_STAFF, trip(HOLIDAY_TRIP, "dinas"))
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"] and request["policy"]["id"] == "bitung"
    assert request["dates"] == HOLIDAY_TRIP  # the cuti bersama and the weekend are days abroad, not refused
    assert request["travel_purpose"] == "dinas" and request["notices"] == []
    assert request["route_steps"][-1]["approver_nip"] == BITUNG_PPK
    assert request["route_steps"][-1]["citation"]["rule_id"] == "bitung.rute-izin-luar-negeri"
    assert "SE Wali Kota Bitung" in request["route_steps"][-1]["citation"]["source"]

    granted = await approve_all(stack, request)
    assert granted["status"] == "APPROVED"
    await settled(stack)
    async with await stack.as_user(BITUNG_STAFF) as asn:
        docs = (await asn.get(f"/api/requests/{request['id']}/documents")).json()
        assert [d["kind"] for d in docs] == ["surat_izin_luar_negeri"]
        pdf = await asn.get(docs[0]["url"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    async with stack.client() as anyone:
        record = (await anyone.get(f"/verifikasi/{docs[0]['id']}", headers={"Accept": "application/json"})).json()
        assert record["status"] == "genuine" and record["document"]["sha256"] == docs[0]["sha256"]
        assert record["document"]["number"] == docs[0]["number"]

    # The unit head sees the trip on the board for each of its days; the day after, the person is back.
    async with await stack.as_user(BITUNG_UNIT_HEAD) as head:
        for day in HOLIDAY_TRIP:
            board = (await head.get("/api/papan", params={"date": day, "opd": "BKPSDM"})).json()
            unit = next(u for o in board["opds"] for u in o["units"] if u["unit_code"] == "BKPSDM-U1")
            assert unit["counts"]["LUAR_NEGERI"] == 1 and unit["people"]["LUAR_NEGERI"] == ["Yusuf Wulan"], day
            assert unit["counts"]["CUTI"] == 0  # a trip abroad is not leave
        after = (await head.get("/api/papan", params={"date": "2025-12-29", "opd": "BKPSDM"})).json()
        unit = next(u for o in after["opds"] for u in o["units"] if u["unit_code"] == "BKPSDM-U1")
        assert unit["counts"]["LUAR_NEGERI"] == 0


async def test_a_trip_inside_indonesia_or_without_a_purpose_is_refused(stack: RunningStack) -> None:
    home = await submit(
        stack, BITUNG_STAFF, trip(["2026-01-10"], "pribadi", location={"text": "Manado", "country": "ID"})
    )
    assert home.status_code == 422 and home.json()["code"] == "destination_not_abroad"
    assert [c["rule_id"] for c in home.json()["citations"]] == ["bitung.rute-izin-luar-negeri"]
    body = trip(["2026-01-10"], "pribadi")
    del body["travel_purpose"]
    no_purpose = await submit(stack, BITUNG_STAFF, body)
    assert no_purpose.status_code == 422 and no_purpose.json()["code"] == "travel_purpose_required"
    wfh = await submit(
        stack, BITUNG_STAFF, {"kind": "WFH", "dates": ["2025-12-29"], "reason": "x y z", "travel_purpose": "dinas"}
    )
    assert wfh.status_code == 422 and wfh.json()["code"] == "travel_purpose_not_applicable"


async def test_a_personal_trip_over_working_days_needs_leave_and_the_two_are_linked(stack: RunningStack) -> None:
    # Fri 9 Jan – Sun 11 Jan 2026: one working day abroad
    r = await submit(stack, BITUNG_OTHER, trip(["2026-01-09", "2026-01-10", "2026-01-11"], "pribadi"))
    assert r.status_code == 201, r.text
    journey = r.json()
    assert "bitung.cuti-perjalanan-pribadi" in {c["rule_id"] for c in journey["citations"]}
    (notice,) = journey["notices"]
    assert notice["code"] == "leave_required" and notice["working_days"] == ["2026-01-09"]
    assert notice["citations"][0]["rule_id"] == "bitung.cuti-perjalanan-pribadi"

    leave = {
        "kind": "CUTI_TAHUNAN",
        "reason": "Perjalanan pribadi ke Singapura",
        "leave": {"address": "Jl. Sam Ratulangi 3, Bitung", "phone": "+62 812-4300-0909"},
    }
    short = await submit(stack, BITUNG_OTHER, leave | {"dates": ["2026-01-12"], "linked_request_id": journey["id"]})
    assert short.status_code == 422 and short.json()["code"] == "linked_leave_incomplete"
    strangers = await submit(stack, BITUNG_STAFF, leave | {"dates": ["2026-01-09"], "linked_request_id": journey["id"]})
    assert strangers.status_code == 422 and strangers.json()["code"] == "linked_request_invalid"

    linked = await submit(stack, BITUNG_OTHER, leave | {"dates": ["2026-01-09"], "linked_request_id": journey["id"]})
    assert linked.status_code == 201, linked.text
    assert linked.json()["linked_request_id"] == journey["id"]
    async with await stack.as_user(BITUNG_OTHER) as asn:
        again = (await asn.get(f"/api/requests/{journey['id']}")).json()
    assert again["linked_request_id"] == linked.json()["id"] and again["notices"][0]["working_days"] == ["2026-01-09"]

    # the other way round: the leave first, then the trip names it
    first_leave = await submit(stack, BITUNG_OTHER, leave | {"dates": ["2026-01-30"]})
    assert first_leave.status_code == 201, first_leave.text
    later_trip = await submit(
        stack,
        BITUNG_OTHER,
        trip(["2026-01-30", "2026-01-31", "2026-02-01"], "pribadi", linked_request_id=first_leave.json()["id"]),
    )
    assert later_trip.status_code == 201, later_trip.text
    assert later_trip.json()["linked_request_id"] == first_leave.json()["id"]
    async with await stack.as_user(BITUNG_OTHER) as asn:
        named = (await asn.get(f"/api/requests/{first_leave.json()['id']}")).json()
    assert named["linked_request_id"] == later_trip.json()["id"]


async def test_other_regions_ask_the_direct_superior_then_the_ppk(stack: RunningStack) -> None:
    r = await submit(stack, KENDARI_STAFF, trip(["2026-01-03", "2026-01-04"], "dinas"))
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["policy"]["id"] == "national-baseline"
    assert request["route"] == ["UNIT_HEAD", "PPK"]
    assert [(s["approver_nip"], s["action"]) for s in request["route_steps"]] == [
        (KENDARI_UNIT_HEAD, "recommend"),
        (KENDARI_PPK, "approve"),
    ]
    assert {s["citation"]["rule_id"] for s in request["route_steps"]} == {"baseline.rute-izin-luar-negeri"}
    assert (await approve_all(stack, request))["status"] == "APPROVED"


async def test_the_portal_form_asks_for_the_country_and_purpose_and_the_page_says_leave_is_needed(
    stack: RunningStack,
) -> None:
    browser = await portal_client(stack, BITUNG_UNIT_HEAD)
    try:
        form = (await browser.get("/pengajuan")).text
        assert 'value="IZIN_LUAR_NEGERI"' in form and 'name="tujuan_perjalanan"' in form
        fields = {
            "jenis": "IZIN_LUAR_NEGERI",
            "mulai": "2026-01-23",
            "sampai": "2026-01-25",
            "lokasi": "Kuala Lumpur",
            "negara": "MY",
            "alasan": "Wisuda anak",
        }
        missing = await browser.post("/pengajuan", data=fields | {"csrf_token": await token_of(browser, "/pengajuan")})
        assert missing.status_code == 422 and "Pilih tujuan perjalanan" in missing.text
        sent = await browser.post(
            "/pengajuan",
            data=fields | {"tujuan_perjalanan": "pribadi", "csrf_token": await token_of(browser, "/pengajuan")},
        )
        assert sent.status_code == 303, sent.text
        page = (await browser.get(sent.headers["location"])).text
        assert "Tujuan perjalanan" in page and "kepentingan pribadi" in page
        assert "Perjalanan pribadi ini jatuh pada hari kerja" in page and "bitung.cuti-perjalanan-pribadi" in page
    finally:
        await browser.aclose()


async def test_a_returned_trip_is_resubmitted_with_its_purpose_unchanged(stack: RunningStack) -> None:
    body = trip(["2026-02-06", "2026-02-07"], "dinas")
    created = (await submit(stack, KENDARI_STAFF, body)).json()
    async with await stack.as_user(KENDARI_UNIT_HEAD) as head:
        returned = await head.post(
            f"/api/tasks/{created['current_task_id']}/decision",
            json={"decision": "return", "comment": "Lampirkan undangan resmi"},
        )
        assert returned.status_code == 200 and returned.json()["status"] == "RETURNED"
    async with await stack.as_user(KENDARI_STAFF) as asn:
        changed = await asn.post(f"/api/requests/{created['id']}/resubmit", json=body | {"travel_purpose": "pribadi"})
        assert changed.status_code == 422 and changed.json()["code"] == "travel_change_not_allowed"
        again = await asn.post(f"/api/requests/{created['id']}/resubmit", json=body | {"reason": "Undangan terlampir"})
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "PENDING" and again.json()["travel_purpose"] == "dinas"
