"""`lentur reconcile` on a genuine split: the store ahead of Temporal by one decision, and its repair.

A running `lentur up` has two requests waiting at the kepala unit. Temporal's database is copied (SQLite's
online backup, as `lentur backup` copies it); then the kepala unit approves one of them. The stack is killed,
Temporal's database is put back to the copy and the stack starts again — as a restore of two copies taken a
moment apart would leave it: the store holds the approval and the task it assigned to the kepala OPD, the
workflow still waits for the kepala unit, and the kepala OPD is refused. `lentur reconcile` names the request
and what its workflow lacks; `--repair` re-sends the approval, and the request can be decided to the end.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import asyncpg
import pytest

from contracts.events import request_stream
from deploy.backup.take import copy_sqlite
from deploy.processes import free_port
from tests.e2e.test_backup_drill import (
    KENDARI_OPD_HEAD,
    KENDARI_STAFF,
    KENDARI_UNIT_HEAD,
    Portal,
    kill_stack,
    lentur,
    start,
)
from tests.e2e.test_lentur_up import wait_ready

pytestmark = pytest.mark.e2e


async def stream_types(dsn: str, request_id: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", request_stream(request_id)
        )
    finally:
        await conn.close()
    return [row["type"] for row in rows]


def test_reconcile_finds_and_repairs_a_store_ahead_of_its_workflow(tmp_path: Path) -> None:
    home = tmp_path / "kantor"
    home.mkdir()
    state = home / ".lentur"
    temporal_db = state / "temporal" / "temporal.db"
    earlier_copy = tmp_path / "temporal-sebelum.db"
    port = free_port()
    proc = start(home, port)
    try:
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])
        split = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2026-01-02"], "reason": "Rekap data"})
        steady = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2026-01-05"], "reason": "Rekap data"})
        agreed = lentur(home, "reconcile", "--json")
        assert agreed.returncode == 0, agreed.stdout + agreed.stderr
        assert json.loads(agreed.stdout)["counts"]["ok"] >= 2

        copy_sqlite(temporal_db, earlier_copy)
        decided = portal.decide(KENDARI_UNIT_HEAD, split["current_task_id"])
        assert decided["current_tier"] == "OPD_HEAD"

        # Temporal's database goes back to the copy; the store keeps the approval.
        kill_stack(proc, info)
        for leftover in temporal_db.parent.glob("temporal.db-*"):
            leftover.unlink()
        shutil.copyfile(earlier_copy, temporal_db)
        proc = start(home, port)
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])
        dsn = info["database_url"]

        refused = portal.http.post(
            f"/api/tasks/{decided['current_task_id']}/decision",
            headers=portal.auth(KENDARI_OPD_HEAD),
            json={"decision": "approve"},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "unknown_task", refused.text

        found = lentur(home, "reconcile", "--json")
        assert found.returncode == 1, found.stdout + found.stderr
        report = json.loads(found.stdout)
        assert report["ok"] is False and report["counts"]["store_ahead"] == 1
        [finding] = report["requests"]
        assert finding["request_id"] == split["id"]
        assert finding["kind"] == "store_ahead"
        assert finding["missing"] == ["DecisionRecorded", "TaskAssigned"]
        assert finding["current_task_id"] == split["current_task_id"]
        assert finding["workflow_status"] == finding["store_status"] == "PENDING"
        table = lentur(home, "reconcile")
        assert table.returncode == 1 and "1 penyimpanan mendahului" in table.stdout, table.stdout + table.stderr

        repaired = lentur(home, "reconcile", "--repair", "--json")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        [fixed] = json.loads(repaired.stdout)["requests"]
        assert (fixed["request_id"], fixed["kind"], fixed["repair"]) == (split["id"], "ok", "diperbaiki")
        assert fixed["current_task_id"] == decided["current_task_id"]

        # The workflow goes on from the store's state: the kepala OPD decides, nothing is recorded twice.
        approved = portal.decide(KENDARI_OPD_HEAD, decided["current_task_id"])
        assert approved["status"] == "APPROVED"
        assert asyncio.run(stream_types(dsn, split["id"])) == [
            "RequestSubmitted",
            "RouteDetermined",
            "TaskAssigned",
            "DecisionRecorded",
            "TaskAssigned",
            "DecisionRecorded",
            "RequestApproved",
        ]
        assert portal.to_the_end(portal.get(KENDARI_STAFF, steady["id"]))["status"] == "APPROVED"
        after = lentur(home, "reconcile")
        assert after.returncode == 0, after.stdout + after.stderr
        verified = lentur(home, "audit", "verify", database_url=dsn)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if proc.poll() is None:
            proc.send_signal(15)
            proc.wait(60)
