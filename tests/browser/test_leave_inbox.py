"""In Chromium on a phone-sized screen: the PYBMC defers (ditangguhkan) an annual leave from the inbox, seeing
the considerations given before it and the requester's N-2/N-1/N record; the request page then shows both."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import sign_in
from tests.browser.test_portal_journey import OPD_HEAD, PPK, UNIT_HEAD
from tests.browser.test_portal_journey import pytestmark as journey_marks
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = journey_marks
REQUESTER = "197809212003122164"  # Indah Made, DISHUB-U1
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def leave_at_the_pybmc(stack: RunningStack) -> str:
    async with await stack.as_user(REQUESTER) as asn:
        r = await asn.post(
            "/api/requests",
            json={
                "kind": "CUTI_TAHUNAN",
                "dates": ["2025-12-29", "2025-12-30"],
                "reason": "Pulang kampung",
                "leave": {"address": "Jl. Pahlawan 1", "phone": "+62 811-0000-0001"},
            },
        )
        assert r.status_code == 201, r.text
        created = r.json()
    task_id = created["current_task_id"]
    for nip, body in (
        (UNIT_HEAD, {"decision": "change", "dates": ["2025-12-30"], "comment": "Cukup satu hari"}),
        (OPD_HEAD, {"decision": "approve"}),
    ):
        async with await stack.as_user(nip) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json=body)
            assert r.status_code == 200, r.text
            task_id = r.json()["current_task_id"]
    return str(created["id"])


async def test_the_pybmc_defers_annual_leave_from_the_inbox_on_a_phone(
    stack: RunningStack,
    browser: object,  # noqa: F811 (the journey's Chromium fixture)
) -> None:
    request_id = await leave_at_the_pybmc(stack)
    ppk = await sign_in(stack, browser, PPK, **PHONE)
    page = ppk.page
    await page.goto("/kotak-masuk")  # type: ignore[attr-defined]
    task = page.locator("li.task", has_text="Indah Made")  # type: ignore[attr-defined]
    await task.wait_for()
    earlier = await task.locator(".considerations li").all_inner_texts()
    assert len(earlier) == 2 and "Perubahan" in earlier[0] and "Disetujui" in earlier[1]
    record = await task.locator("table.leave-record td").all_inner_texts()
    assert len(record) == 7 and record[5] == "2"  # the two days are in flight
    await task.get_by_label("Catatan atau alasan (wajib selain disetujui)").fill("Penutupan buku anggaran")
    await task.get_by_label("Ditangguhkan sampai").fill("2026-03-02")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # type: ignore[attr-defined]
    await ppk.shot("15-kotak-masuk-ponsel-ditangguhkan")
    await task.get_by_role("button", name="Ditangguhkan").click()
    await page.get_by_text("Cuti tahunan ditangguhkan.").wait_for()  # type: ignore[attr-defined]
    assert await page.locator("li.task", has_text="Indah Made").count() == 0  # type: ignore[attr-defined]

    await page.goto(f"/pengajuan/{request_id}")  # type: ignore[attr-defined]
    await page.locator("h1 .badge", has_text="Ditangguhkan").wait_for()  # type: ignore[attr-defined]
    decisions = await page.locator("li", has_text="Ditangguhkan sampai").all_inner_texts()  # type: ignore[attr-defined]
    assert any("2 Maret 2026" in d and "Penutupan buku anggaran" in d for d in decisions), decisions
    await page.locator("#h-catatan-cuti").wait_for()  # type: ignore[attr-defined]
    await ppk.shot("16-pengajuan-ditangguhkan-ponsel")
    await ppk.close()
    async with await stack.as_user(REQUESTER) as asn:
        next_year = (await asn.get("/api/leave/balance", params={"year": 2026})).json()
    assert next_year["annual"]["deferred"] == 2
