"""A check-in sent the moment a request is approved, while its check-in window is already open.

The approval starts the duties' workflow after its last decision, so the check-in can reach that workflow before
it has scheduled its duties. It must still be recorded against the scheduled duty and answered with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

# Tuesday 30 December 2025, inside Luwu Utara's morning check-in window (07:30–09:00 WITA).
START = datetime.fromisoformat("2025-12-30T07:40:00+08:00")
# Staff of BKPSDM Luwu Utara (a support OPD, where WFA is allowed); one request each for the same day.
REQUESTERS = [
    "197601262000121111",
    "197904082004042112",
    "198903082014071113",
    "197104011997032114",
    "197603212002122116",
    "199606112021031117",
    "197206141994091118",
    "199607032018122119",
]
OPD_HEAD = "199811212023022109"
# Shortly before the first approved day (31 December) starts in Luwu Utara.
BEFORE_MIDNIGHT = datetime.fromisoformat("2025-12-30T23:59:15+08:00")
MIDNIGHT = datetime.fromisoformat("2025-12-31T00:00:00+08:00")


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=START) as running:
        yield running


async def approved_wfa(stack: RunningStack, asn: httpx.AsyncClient, day: str) -> dict[str, Any]:
    r = await asn.post(
        "/api/requests",
        json={
            "kind": "WFA",
            "dates": [day],
            "reason": "Bekerja dari kampung",
            "location": {"text": "Masamba", "country": "ID"},
        },
    )
    assert r.status_code == 201, r.text
    request: dict[str, Any] = r.json()
    task_id = request["current_task_id"]
    for step in request["route_steps"]:
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            task_id = r.json()["current_task_id"]
    assert r.json()["status"] == "APPROVED"
    return request


async def test_a_check_in_right_after_the_final_approval_is_recorded(stack: RunningStack) -> None:
    answers = []
    for nip in REQUESTERS:
        async with await stack.as_user(nip) as asn:
            request = await approved_wfa(stack, asn, "2025-12-30")
            # No pause: the duties' workflow may not have scheduled anything yet.
            checked = await asn.post(
                f"/api/requests/{request['id']}/check-ins",
                json={"text": "Masamba, rumah", "lat": -2.5632891, "lon": 120.3259012},
            )
            answers.append((nip, checked.status_code, checked.text))
        assert checked.status_code == 201, answers
        duty = checked.json()["duty"]
        assert (duty["status"], duty["label"], duty["nip"]) == ("done", "lokasi pagi", nip)
    # What the head of BKPSDM sees agrees: every morning check-in done, none left pending behind a check-in.
    async with await stack.as_user(OPD_HEAD) as kepala_pd:
        seen = (await kepala_pd.get("/api/compliance", params={"date": "2025-12-30"})).json()
    mornings = {d["nip"]: d["status"] for d in seen if d["label"] == "lokasi pagi"}
    assert mornings == dict.fromkeys(REQUESTERS, "done"), seen


async def test_a_check_in_before_the_duties_workflow_exists_is_a_clear_refusal(infra: InfraAddresses) -> None:
    async with running_stack(infra, await create_database(infra), simulated_now=BEFORE_MIDNIGHT) as stack:
        started = asyncio.get_running_loop().time()  # the simulated clock runs in real time from BEFORE_MIDNIGHT
        nip = REQUESTERS[0]
        async with await stack.as_user(nip) as asn:
            request = await approved_wfa(stack, asn, "2025-12-31")
            # Without a worker the approval cannot start the duties' workflow when 31 December begins.
            await stack.stop_component("worker")
            until_the_day = (MIDNIGHT - BEFORE_MIDNIGHT).total_seconds() + 2
            await asyncio.sleep(max(0.0, until_the_day - (asyncio.get_running_loop().time() - started)))
            r = await asn.post(f"/api/requests/{request['id']}/check-ins", json={"text": "Masamba"})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "duties_not_scheduled"
