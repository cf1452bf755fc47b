"""One request through the whole real pipeline: HTTP → Temporal → Postgres → NATS → projections → HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

KENDARI_STAFF = "199505042021012163"  # Putri Teguh, DISHUB-U1
KENDARI_UNIT_HEAD = "197506201999081160"  # Indah Sari, DISHUB-U1
KENDARI_OPD_HEAD = "199503222018022159"  # Yusuf Indah, DISHUB
KENDARI_PPK = "198609222008011156"  # Citra Kurnia, Wali Kota
KENDARI_INSPECTOR = "199412172016012157"
OTHER_UNIT_HEAD = "199306072018061182"  # Made Teguh, DISKOMINFO-U1


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


WFA_ABROAD = {
    "kind": "WFA",
    "dates": ["2025-12-29", "2025-12-30"],
    "location": {"text": "Kuala Lumpur, rumah keluarga", "country": "MY"},
    "reason": "Mendampingi orang tua berobat",
    "work_plan": "Menyusun laporan lalu lintas akhir tahun",
}


async def test_kendari_wfa_abroad_goes_through_three_tiers(stack: RunningStack) -> None:
    async with await stack.as_user(KENDARI_STAFF) as asn:
        r = await asn.post("/api/requests", json=WFA_ABROAD)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "PENDING"
        assert created["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
        assert created["current_tier"] == "UNIT_HEAD"
        assert created["citations"]
        request_id = created["id"]

    for nip, tier in ((KENDARI_UNIT_HEAD, "UNIT_HEAD"), (KENDARI_OPD_HEAD, "OPD_HEAD"), (KENDARI_PPK, "PPK")):
        async with await stack.as_user(nip) as approver:
            tasks = (await approver.get("/api/tasks")).json()["items"]
            mine = [t for t in tasks if t["request_id"] == request_id]
            assert len(mine) == 1 and mine[0]["tier"] == tier
            r = await approver.post(f"/api/tasks/{mine[0]['task_id']}/decision",
                                    json={"decision": "approve", "comment": "Setuju"})
            assert r.status_code == 200, r.text

    async with await stack.as_user(KENDARI_STAFF) as asn:
        final = (await asn.get(f"/api/requests/{request_id}")).json()
        assert final["status"] == "APPROVED"
        assert [d["tier"] for d in final["decisions"]] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
        assert final["reason"] == WFA_ABROAD["reason"]

    async with await stack.as_user(KENDARI_INSPECTOR) as inspector:
        audit = (await inspector.get(f"/api/audit/requests/{request_id}")).json()
        types = [e["type"] for e in audit["events"]]
        assert types[0] == "RequestSubmitted" and types[-1] == "RequestApproved"
        assert types.count("DecisionRecorded") == 3
        verify = (await inspector.get("/api/audit/verify")).json()
        assert verify["ok"] is True and verify["events_checked"] >= len(types)
