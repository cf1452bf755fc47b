"""Lifecycle edges that depend on the clock: a stack whose simulated day ends a few seconds after it starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

UNIT_HEAD, OPD_HEAD = "197506201999081160", "199503222018022159"
STAFF = ["199505042021012163", "197809212003122164"]
NEAR_MIDNIGHT = datetime.fromisoformat("2025-12-29T23:59:40+08:00")


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=NEAR_MIDNIGHT) as running:
        yield running


async def test_cancel_refused_once_the_first_day_has_started_and_pending_requests_expire(stack: RunningStack) -> None:
    today = {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Menyelesaikan laporan"}
    async with await stack.as_user(STAFF[0]) as asn:
        approved = (await asn.post("/api/requests", json=today)).json()
    async with await stack.as_user(STAFF[1]) as asn:
        waiting = await asn.post("/api/requests", json=today)
        assert waiting.status_code == 201, waiting.text
        waiting_id = waiting.json()["id"]
    task_id = approved["current_task_id"]
    for nip in (UNIT_HEAD, OPD_HEAD):
        async with await stack.as_user(nip) as approver:
            r = await approver.post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text
            task_id = r.json()["current_task_id"]
    async with await stack.as_user(STAFF[0]) as asn:
        late = await asn.post(f"/api/requests/{approved['id']}/cancel", json={})
        assert late.status_code == 409 and late.json()["code"] == "cancel_too_late"

    # 30 Dec 00:00 WITA passes: the request still waiting on its first day expires.
    async with await stack.as_user(STAFF[1]) as asn:
        for _ in range(120):
            status = (await asn.get(f"/api/requests/{waiting_id}")).json()["status"]
            if status == "EXPIRED":
                break
            await asyncio.sleep(0.5)
        assert status == "EXPIRED"
    async with await stack.as_user(UNIT_HEAD) as head:
        assert all(t["request_id"] != waiting_id for t in (await head.get("/api/tasks")).json())
