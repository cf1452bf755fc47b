"""Duties that were only evaluator-tested, end to end over HTTP with pack windows a few seconds long:
Bitung's piket in vital OPDs on a flexible-work day (set, changed, kept and missed), and Kutai Timur's
performance report (approved day → duty scheduled → report submitted or missed → seen by the superior)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import portal_client
from tests.conftest import create_database
from tests.e2e.test_compliance import approved, publish, variant
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e


class SimulatedClock:
    """Where the stack's simulated clock is: it started at `start` and runs in real time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = 0.0

    def started(self) -> None:
        self.t0 = asyncio.get_running_loop().time()

    async def until(self, moment: str) -> None:
        """Sleep until the simulated clock has passed `moment` (ISO time with offset)."""
        target = datetime.fromisoformat(moment)
        elapsed = asyncio.get_running_loop().time() - self.t0
        await asyncio.sleep(max(0.0, (target - self.start).total_seconds() - elapsed))


async def missed_tasks(client, nip: str) -> list[dict]:
    """The superior's open tasks for `nip`'s missed duties, once the projection shows one (or the wait ends)."""
    for _ in range(80):
        tasks = [t for t in (await client.get("/api/compliance/tasks")).json() if t["nip"] == nip]
        if tasks:
            return tasks
        await asyncio.sleep(0.25)
    return []


# -- Bitung: piket in vital OPDs -------------------------------------------------------------------------

PIKET = SimulatedClock(datetime.fromisoformat("2025-12-30T07:29:00+08:00"))
BITUNG_ADMIN = "199410112018092039"
DINKES_U1_HEAD = "198703172013012041"
DINKES_U1 = ["199403062017081042", "199109172017081043", "197605021998092044"]
BKPSDM_U1_HEAD = "199608182018111074"
VITAL_RULE = """    opd_classes: [vital]
    ranges:
      - {start: 2025-12-24, end: 2026-01-02}
    attendance_windows:
      - {label: hadir, start: "07:30", end: "09:00"}"""


@pytest.fixture(scope="module")
async def piket_stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=PIKET.start) as running:
        PIKET.started()
        await publish(
            running,
            BITUNG_ADMIN,
            variant(
                "bitung.yaml",
                "2025.12.81",
                (VITAL_RULE, VITAL_RULE.replace('"07:30", end: "09:00"', '"07:29:00", end: "07:29:45"')),
            ),
        )
        yield running


async def test_piket_in_a_vital_opd_on_a_flexible_work_day(piket_stack: RunningStack) -> None:
    present, dropped, absent = DINKES_U1
    async with await piket_stack.as_user(BKPSDM_U1_HEAD) as support_head:
        refused = await support_head.post("/api/piket", json={"day": "2025-12-30", "nips": ["197210051996052078"]})
        assert refused.status_code == 422 and refused.json()["code"] == "not_a_piket_day"
        assert "bitung.piket-opd-vital" in {c["rule_id"] for c in refused.json()["citations"]}
    async with await piket_stack.as_user(DINKES_U1_HEAD) as head:
        first = await head.post("/api/piket", json={"day": "2025-12-30", "nips": [present, dropped]})
        assert first.status_code == 201, first.text
        assert first.json()["unit_code"] == "DINKES-U1" and first.json()["timezone"] == "WITA"
        # the unit head changes the roster: the new one replaces the first for the same unit and day
        changed = await head.post("/api/piket", json={"day": "2025-12-30", "nips": [present, absent]})
        assert changed.status_code == 201, changed.text
        roster = changed.json()
        assert roster["supersedes"] == first.json()["id"] and roster["nips"] == sorted([present, absent])
        stranger = await head.post("/api/piket", json={"day": "2025-12-30", "nips": ["197210051996052078"]})
        assert stranger.status_code == 422 and stranger.json()["code"] == "not_unit_members"
    async with await piket_stack.as_user(BITUNG_ADMIN) as admin:
        other_unit = await admin.post(
            "/api/piket", json={"day": "2025-12-31", "nips": ["199608052021022047"], "unit_code": "DINKES-U2"}
        )
        assert other_unit.status_code == 201, other_unit.text
    async with await piket_stack.as_user(present) as asn:
        checked = await asn.post(f"/api/piket/{roster['id']}/check-ins")
        assert checked.status_code == 201, checked.text
        assert checked.json()["duty"]["status"] == "done"

    await PIKET.until("2025-12-30T07:29:46+08:00")
    async with await piket_stack.as_user(DINKES_U1_HEAD) as head:
        tasks = await missed_tasks(head, absent)
        assert [t["label"] for t in tasks] == ["e-presensi hadir"]
        day = (await head.get("/api/compliance", params={"date": "2025-12-30", "unit": "DINKES-U1"})).json()
    statuses = {(d["nip"], d["subject"], d["status"]) for d in day}
    assert (present, f"piket:{roster['id']}", "done") in statuses
    assert (absent, f"piket:{roster['id']}", "missed") in statuses
    # the person taken off the roster is not counted as absent
    assert {(d["nip"], d["status"]) for d in day if d["subject"] == f"piket:{first.json()['id']}"} <= {
        (present, "superseded"),
        (dropped, "superseded"),
    }
    assert not [d for d in day if d["nip"] == dropped and d["status"] == "missed"]
    # the miss is on the superior's duties page like any other
    browser = await portal_client(piket_stack, DINKES_U1_HEAD)
    try:
        page = (await browser.get("/kewajiban", params={"tanggal": "2025-12-30", "unit": "DINKES-U1"})).text
    finally:
        await browser.aclose()
    assert "e-presensi hadir" in page and "terlewat" in page and "diganti jadwal baru" in page


# -- Kutai Timur: performance report to the direct superior ---------------------------------------------

REPORTS = SimulatedClock(datetime.fromisoformat("2025-12-30T23:58:30+08:00"))
KUTIM_ADMIN = "197702182002011003"
BAPPEDA_U2_HEAD = "198504112008081032"
REPORTER, SILENT = "199611042021121033", "199303062016011035"  # Bappeda Bidang 2


@pytest.fixture(scope="module")
async def reports_stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), simulated_now=REPORTS.start) as running:
        REPORTS.started()
        # the report is due the day after the last approved day; here at 00:00:40 WITA instead of 16:00
        await publish(
            running,
            KUTIM_ADMIN,
            variant("kutai-timur.yaml", "2025.12.81", ('deadline: "16:00"', 'deadline: "00:00:40"')),
        )
        yield running


async def test_kutai_timur_performance_report_submitted_or_missed_is_seen_by_the_superior(
    reports_stack: RunningStack,
) -> None:
    body = {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Menyusun capaian kinerja akhir tahun"}
    done = await approved(reports_stack, REPORTER, body)
    silent = await approved(reports_stack, SILENT, body)
    assert {o["kind"] for o in done["obligations"]} == {"performance_report"}
    assert done["obligations"][0]["citation"]["rule_id"] == "kutai-timur.pengawasan-kinerja"
    async with await reports_stack.as_user(BAPPEDA_U2_HEAD) as head:
        for _ in range(80):  # duties are scheduled once the approved day has started (it has)
            scheduled = (await head.get("/api/compliance", params={"date": "2025-12-30"})).json()
            if {d["request_id"] for d in scheduled} >= {done["id"], silent["id"]}:
                break
            await asyncio.sleep(0.25)
    assert {(d["nip"], d["label"], d["status"]) for d in scheduled} == {
        (REPORTER, "laporan kinerja", "pending"),
        (SILENT, "laporan kinerja", "pending"),
    }
    assert {d["report_to_nip"] for d in scheduled} == {BAPPEDA_U2_HEAD}
    async with await reports_stack.as_user(REPORTER) as asn:
        report = await asn.post(
            f"/api/requests/{done['id']}/reports",
            json={"kind": "performance", "text": "Capaian: dokumen RKPD 2026 tersusun, 3 rapat daring"},
        )
        assert report.status_code == 201, report.text
        assert report.json()["duty"]["status"] == "done" and report.json()["late"] is False

    await REPORTS.until("2025-12-31T00:00:41+08:00")
    async with await reports_stack.as_user(BAPPEDA_U2_HEAD) as head:
        tasks = await missed_tasks(head, SILENT)
        assert [t["label"] for t in tasks] == ["laporan kinerja"]
        day = (await head.get("/api/compliance", params={"date": "2025-12-30", "unit": "BAPPEDA-U2"})).json()
        assert {(d["nip"], d["status"]) for d in day} == {(REPORTER, "done"), (SILENT, "missed")}
        ack = await head.post(f"/api/compliance/tasks/{tasks[0]['task_id']}/acknowledge", json={"comment": "Ditegur"})
        assert ack.status_code == 200 and ack.json()["acknowledged_at"]
    async with await reports_stack.as_user(REPORTER) as peer:
        assert (await peer.get("/api/compliance", params={"date": "2025-12-30"})).status_code == 403
