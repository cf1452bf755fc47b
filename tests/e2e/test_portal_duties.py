"""Portal pages added for notifications, duties of approved days and the admin's delivery log."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from deploy.infra import InfraAddresses
from policy.bundled import bundled_pack_texts
from tests.browser.support import portal_client, token_of
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

START = datetime.fromisoformat("2025-12-30T07:59:00+08:00")  # inside Luwu Utara's morning check-in window
LUWU = {"admin": "197306011997062086", "staff": "197904082004042112", "opd_head": "199811212023022109"}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=START) as running:
        yield running


async def approved_wfa(stack: RunningStack) -> dict:
    async with await stack.as_user(LUWU["staff"]) as asn:
        r = await asn.post(
            "/api/requests",
            json={
                "kind": "WFA",
                "dates": ["2025-12-30"],
                "reason": "Dari kampung",
                "location": {"text": "Masamba", "country": "ID"},
            },
        )
        assert r.status_code == 201, r.text
        request = r.json()
    task_id = request["current_task_id"]
    for step in request["route_steps"]:
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            task_id = r.json()["current_task_id"]
    return r.json()


async def test_check_in_from_the_request_page_and_the_superiors_view(stack: RunningStack) -> None:
    request = await approved_wfa(stack)
    asn = await portal_client(stack, LUWU["staff"])
    head = await portal_client(stack, LUWU["opd_head"])
    try:
        # Wait for the check-in form itself: until the duties are scheduled the page already names the duty
        # ("Lapor lokasi kerja: pagi 07:30–09:00 …") in its preview, so the words alone say nothing.
        form = f'action="/pengajuan/{request["id"]}/lapor-lokasi"'
        for _ in range(40):
            page = await asn.get(f"/pengajuan/{request['id']}")
            if form in page.text:
                break
            await asyncio.sleep(0.25)
        assert form in page.text and "lokasi pagi" in page.text and "Lapor lokasi" in page.text
        token = await token_of(asn, f"/pengajuan/{request['id']}")
        r = await asn.post(f"/pengajuan/{request['id']}/lapor-lokasi", data={"lokasi": "Masamba", "csrf_token": token})
        assert r.status_code == 303
        again = await asn.get(f"/pengajuan/{request['id']}?lapor=1")
        assert "Laporan tercatat" in again.text and "tepat waktu" in again.text
        forged = await asn.post(f"/pengajuan/{request['id']}/lapor-lokasi", data={"lokasi": "Masamba"})
        assert forged.status_code == 403
        view = await head.get("/kewajiban", params={"tanggal": "2025-12-30"})
        assert view.status_code == 200 and "lokasi pagi" in view.text and "tepat waktu" in view.text
        assert "/api/compliance/export.csv?date=2025-12-30" in view.text
        assert (await asn.get("/kewajiban", params={"tanggal": "2025-12-30"})).status_code == 403
    finally:
        await asn.aclose()
        await head.aclose()


async def test_notifications_page_and_unread_badge(stack: RunningStack) -> None:
    async with await stack.as_user(LUWU["staff"]) as asn:
        r = await asn.post(
            "/api/requests",
            json={
                "kind": "WFA",
                "dates": ["2025-12-31"],
                "reason": "Dari kampung",
                "location": {"text": "Masamba", "country": "ID"},
            },
        )
        assert r.status_code == 201
        unit_head = r.json()["route_steps"][0]["approver_nip"]
    head = await portal_client(stack, unit_head)
    try:
        for _ in range(40):
            page = await head.get("/pemberitahuan")
            if '<span class="badge">baru</span>' in page.text:  # an unread notification, not just the word
                break
            await asyncio.sleep(0.25)
        assert re.search(r'Pemberitahuan <span class="badge"[^>]*>\d+</span>', page.text)
        async with await stack.as_user(unit_head) as api:
            before = {n["id"] for n in (await api.get("/api/notifications")).json()}
            token = await token_of(head, "/pemberitahuan")
            assert (await head.post("/pemberitahuan/baca-semua", data={"csrf_token": token})).status_code == 303
            nav = (await head.get("/pemberitahuan")).text.split("</nav>")[0]
            unread = [n for n in (await api.get("/api/notifications")).json() if not n["read"]]
        # The stack is shared: a reminder or a duty of an earlier test's request may reach this unit head at any
        # moment. Everything there was when they marked all as read is read; only what came after may be unread,
        # and with nothing unread the badge is gone.
        assert not [n for n in unread if n["id"] in before]
        if not unread:
            assert 'class="badge"' not in nav
    finally:
        await head.aclose()


async def test_delivery_log_is_for_admins_only(stack: RunningStack) -> None:
    admin = await portal_client(stack, LUWU["admin"])
    staff = await portal_client(stack, LUWU["staff"])
    try:
        page = await admin.get("/admin/pengiriman")
        assert page.status_code == 200 and "Jumlah per saluran" in page.text
        assert (await staff.get("/admin/pengiriman")).status_code == 403
    finally:
        await admin.aclose()
        await staff.aclose()


async def test_the_board_marks_missed_duties_but_the_public_board_does_not(stack: RunningStack) -> None:
    import asyncpg

    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        unit = await conn.fetchval("SELECT unit_code FROM rm_people WHERE nip = $1", LUWU["staff"])
    finally:
        await conn.close()
    head = await portal_client(stack, LUWU["opd_head"])
    try:
        board = await head.get("/papan", params={"tanggal": "2025-12-30"})
        assert "Kewajiban terlewat" in board.text and unit
        public = await head.get("/papan/publik", params={"wilayah": "luwu-utara", "tanggal": "2025-12-30"})
        assert "Kewajiban terlewat" not in public.text
    finally:
        await head.aclose()


def test_pack_windows_used_here_are_the_shipped_ones() -> None:
    assert '{label: pagi, start: "07:30", end: "09:00"}' in bundled_pack_texts()["luwu-utara.yaml"]
