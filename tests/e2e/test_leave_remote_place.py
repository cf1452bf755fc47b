"""Annual leave spent in a place hard to reach, over HTTP on the real stack: the travel days asked for are
recorded and shown on the request, refused with a citation beyond the pack's 12 calendar days or for another
kind, left out of the annual-leave balance once approved, and written in section IV of the form.

The demo clock stands at 22 Dec 2025 (WITA); Kendari's route for annual leave is kepala unit, kepala dinas,
then the PPK as PYBMC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.e2e.test_leave_national import NIP, OPD_HEAD, PPK, UNIT_HEAD
from tests.e2e.test_notifications_and_letters import settled
from tests.leave_form_text import pdf_text, section
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

CONTACT = {"address": "Desa Lamanu, Pulau Wawonii", "phone": "+62 813-4100-2162"}
ASKED = ["2025-12-29", "2025-12-30", "2025-12-31"]


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def call(stack: RunningStack, nip: str, method: str, path: str, **kwargs: Any) -> Any:
    async with await stack.as_user(nip) as client:
        return await client.request(method, path, **kwargs)


async def annual(stack: RunningStack) -> dict[str, int]:
    r = await call(stack, NIP, "GET", "/api/leave/balance", params={"year": 2025})
    assert r.status_code == 200, r.text
    return dict(r.json()["annual"])


def leave(extra_days: int, *, remote_place: bool = True, kind: str = "CUTI_TAHUNAN") -> dict[str, Any]:
    return {
        "kind": kind,
        "dates": ASKED,
        "reason": "Mengunjungi orang tua di pulau",
        "leave": {**CONTACT, "remote_place": remote_place, "extra_days": extra_days},
    }


async def test_refused_beyond_the_pack_s_days_for_another_kind_or_without_the_remote_place(
    stack: RunningStack,
) -> None:
    too_many = await call(stack, NIP, "POST", "/api/requests", json=leave(13))
    assert too_many.status_code == 422, too_many.text
    problem = too_many.json()
    assert problem["code"] == "extra_days_exceeded" and "12 hari kalender" in problem["detail"]
    assert [c["rule_id"] for c in problem["citations"]] == ["kendari.cuti-tahunan-sulit-perhubungan"]

    important = await call(stack, NIP, "POST", "/api/requests", json=leave(2, kind="CUTI_ALASAN_PENTING"))
    assert important.status_code == 422 and important.json()["code"] == "extra_days_not_applicable", important.text
    assert important.json()["citations"]

    unticked = await call(stack, NIP, "POST", "/api/requests", json=leave(2, remote_place=False))
    assert unticked.status_code == 422, unticked.text
    assert (await annual(stack))["pending"] == 0  # nothing was reserved by any of them


async def test_the_travel_days_are_shown_and_on_the_form_but_only_working_days_are_debited(
    stack: RunningStack,
) -> None:
    before = await annual(stack)
    submitted = await call(stack, NIP, "POST", "/api/requests", json=leave(5))
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["id"]
    shown = (await call(stack, NIP, "GET", f"/api/requests/{request_id}")).json()
    assert shown["leave"]["remote_place"] is True and shown["leave"]["extra_days"] == 5
    assert shown["leave"]["address"] == CONTACT["address"]
    assert (await annual(stack))["pending"] == before["pending"] + 3

    for nip in (UNIT_HEAD, OPD_HEAD, PPK):
        tasks = [t for t in (await call(stack, nip, "GET", "/api/tasks")).json() if t["request_id"] == request_id]
        assert len(tasks) == 1, f"{nip} has {len(tasks)} tasks"
        r = await call(stack, nip, "POST", f"/api/tasks/{tasks[0]['task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 200, r.text
    await settled(stack)

    assert (await call(stack, NIP, "GET", f"/api/requests/{request_id}")).json()["status"] == "APPROVED"
    after = await annual(stack)
    assert after["used"] == before["used"] + 3 and after["pending"] == before["pending"]
    assert after["available"] == before["available"] - 3  # the five travel days are not taken from the right

    listed = (await call(stack, NIP, "GET", f"/api/requests/{request_id}/documents")).json()
    [doc] = [d for d in listed if d["kind"] == "formulir_cuti"]
    pdf = await call(stack, NIP, "GET", doc["url"])
    assert pdf.status_code == 200
    duration = " ".join(section(pdf_text(pdf.content), "IV. LAMANYA CUTI").split())
    assert "3 hari kerja" in duration and "29 Desember 2025" in duration and "31 Desember 2025" in duration
    assert "ditambah 5 hari kalender karena tempat yang sulit perhubungannya" in duration.lower()
