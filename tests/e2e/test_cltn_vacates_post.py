"""A unit head's CLTN, granted after BKN's consideration, releases him from his post while it lasts
(PP 11/2017): his members' requests on those days pass over him with the CLTN rule cited, a day after it
goes to him again, and the board shows him on leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.e2e.test_leave_procedure import LEAVE, PDF, b64, get, post
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

# Kutai Timur, from deploy/data/directory-sample.csv: Bappeda Bidang 2
UNIT_HEAD = "198504112008081032"  # Rahmat Lestari, kepala Bidang 2, PNS since 08/2008
OPD_HEAD = "198601072012061026"  # Teguh Andi, kepala Bappeda
STAFF = "199303062016011035"  # Wulan Putri
OTHER_STAFF = "198910162013031036"  # Andi Andi
ADMIN = "197702182002011003"
CLTN_DAYS = ["2025-12-29", "2025-12-30"]
CLTN_RULE = "kutai-timur.cltn"


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def open_tasks(stack: RunningStack, nip: str) -> list[Any]:
    tasks = await get(stack, nip, "/api/tasks")
    assert tasks.status_code == 200, tasks.text
    return list(tasks.json())


async def granted_cltn(stack: RunningStack) -> str:
    created = await post(
        stack,
        UNIT_HEAD,
        "/api/requests",
        {
            "kind": "CLTN",
            "dates": CLTN_DAYS,
            "reason": "Mendampingi istri tugas belajar",
            "leave": LEAVE,
            "attachments": [{"name": "surat-tugas-istri.pdf", "content_base64": b64(PDF)}],
        },
    )
    assert created.status_code == 201, created.text
    request_id = str(created.json()["id"])
    letter = {
        "authority": "BKN",
        "number": "PT-2001/KEP/BKN/2025",
        "date": "2025-12-19",
        "document": {"name": "pertimbangan-bkn.pdf", "content_base64": b64(PDF)},
    }
    recorded = await post(stack, ADMIN, f"/api/requests/{request_id}/external-approvals", letter)
    assert recorded.status_code == 201, recorded.text
    view = (await get(stack, UNIT_HEAD, f"/api/requests/{request_id}")).json()
    for step in view["route_steps"]:
        approver = step["approver_nip"]
        task_id = (await get(stack, approver, f"/api/requests/{request_id}")).json()["current_task_id"]
        decided = await post(stack, approver, f"/api/tasks/{task_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
    final = (await get(stack, UNIT_HEAD, f"/api/requests/{request_id}")).json()
    assert final["status"] == "APPROVED"
    return request_id


async def test_a_unit_head_on_cltn_is_passed_over_while_it_lasts(stack: RunningStack) -> None:
    await granted_cltn(stack)

    inside = await post(stack, STAFF, "/api/requests", {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Rekap"})
    assert inside.status_code == 201, inside.text
    steps = inside.json()["route_steps"]
    assert [(s["tier"], s["approver_nip"]) for s in steps] == [("OPD_HEAD", OPD_HEAD)]
    assert steps[0]["citation"]["rule_id"] == CLTN_RULE
    assert "Pasal 334" in steps[0]["citation"]["clause"]
    inside_id = inside.json()["id"]
    assert inside_id not in {t["request_id"] for t in await open_tasks(stack, UNIT_HEAD)}
    assert inside_id in {t["request_id"] for t in await open_tasks(stack, OPD_HEAD)}

    after = await post(stack, OTHER_STAFF, "/api/requests", {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Rekap"})
    assert after.status_code == 201, after.text
    steps = after.json()["route_steps"]
    assert [(s["tier"], s["approver_nip"]) for s in steps] == [("UNIT_HEAD", UNIT_HEAD), ("OPD_HEAD", OPD_HEAD)]
    assert CLTN_RULE not in {s["citation"]["rule_id"] for s in steps}
    assert after.json()["id"] in {t["request_id"] for t in await open_tasks(stack, UNIT_HEAD)}

    async with await stack.as_user(OPD_HEAD) as head:
        board = (await head.get("/api/papan", params={"date": "2025-12-30", "opd": "BAPPEDA"})).json()
    [unit] = [u for o in board["opds"] for u in o["units"] if u["unit_code"] == "BAPPEDA-U2"]
    assert "Rahmat Lestari" in unit["people"]["CUTI"]
