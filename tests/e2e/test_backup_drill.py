"""The backup drill: a running `lentur up` backed up under load, killed, its disk lost, restored, resumed.

One stack is started as a user starts it. Requests in every state go in over HTTP; `lentur backup` runs while
a bounded load of submissions, decisions and resubmissions keeps going; the stack is killed with SIGKILL and
`.lentur/` is deleted; `lentur restore` brings it back and `lentur up` resumes: every event up to the backup's
head is there and verifies, the read models equal a rebuild, what was in flight can be decided to the end, and
the letter verifies at /verifikasi. A copy of the file with one byte flipped in a part is refused, naming it.
Timers set before the backup (a reminder, an escalation, an expiry) fire after the restore.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.events import request_stream
from deploy.backup.manifest import MANIFEST, PART_CLOCK, PART_STORE, PART_TEMPORAL
from deploy.infra import EmbeddedInfrastructure
from deploy.processes import free_port
from eventstore.db import create_pool
from policy.bundled import bundled_pack_texts
from services.approvals.rebuild import rebuild_read_models
from services.approvals.state import TABLE_KEYS
from tests.e2e.test_lentur_up import survivors, token, wait_ready

pytestmark = pytest.mark.e2e

SIMULATED_START = "2025-12-30T07:40:00+08:00"  # inside Luwu Utara's morning check-in window
KENDARI_STAFF = "199505042021012163"
KENDARI_UNIT_HEAD = "197506201999081160"
KENDARI_OPD_HEAD = "199503222018022159"
LUWU_STAFF = "197904082004042112"
LUWU_OPD_HEAD = "199811212023022109"
LUWU_UNIT_HEAD = "198104162003122110"
KENDARI_ADMIN = "199702202019041158"
LUWU_ADMIN = "197306011997062086"
ANNUAL_LEAVE = {
    "kind": "CUTI_TAHUNAN",
    "dates": ["2025-12-31"],
    "reason": "Pulang kampung",
    "leave": {"address": "Jl. Sultan Hasanuddin 12, Kendari", "phone": "081234567890"},
}
SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "data" / "directory-sample.csv"


def start(home: Path, port: int, simulated_now: str = SIMULATED_START) -> subprocess.Popen[bytes]:
    log = open(home.parent / "up.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "up", "--demo", "--simulated-now", simulated_now, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=home,
    )


def lentur(home: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LENTUR_DATABASE_URL": database_url} if database_url else None
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args], cwd=home, env=env, capture_output=True, text=True, timeout=600
    )


class Portal:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=60)
        self.tokens: dict[str, dict[str, str]] = {}

    def auth(self, nip: str) -> dict[str, str]:
        if nip not in self.tokens:
            self.tokens[nip] = token(self.base, nip)
        return self.tokens[nip]

    def submit(self, nip: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post("/api/requests", headers=self.auth(nip), json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def decide(self, nip: str, task_id: str, decision: str = "approve") -> dict[str, Any]:
        body: dict[str, str] = {"decision": decision}
        if decision != "approve":
            body["comment"] = "Mohon dilengkapi"
        r = self.http.post(f"/api/tasks/{task_id}/decision", headers=self.auth(nip), json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def to_the_end(self, request: dict[str, Any]) -> dict[str, Any]:
        """Every remaining approver approves, in the route's order."""
        steps = {step["step"]: step["approver_nip"] for step in request["route_steps"]}
        while request["status"] == "PENDING":
            task_id = request["current_task_id"]
            request = self.decide(steps[int(task_id.rsplit("s", 1)[1])], task_id)
        return request

    def get(self, nip: str, request_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/requests/{request_id}", headers=self.auth(nip))
        assert r.status_code == 200, r.text
        return dict(r.json())


def load_people() -> list[str]:
    """Kendari staff of the sample directory outside the scenario's unit, for the background load (WFH)."""
    with SAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        r["nip"]
        for r in rows
        if not r["roles"] and not r["acting_for"] and r["region"] == "kendari" and r["unit_code"] != "DISHUB-U1"
    ][:12]


LOAD_WFH = {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Menyusun laporan"}


def background_load(
    portal_base: str,
    people: list[str],
    stop: threading.Event,
    outcomes: list[str],
    details: list[str],
    *,
    limit: int = 600,
) -> None:
    """Submissions and decisions until told to stop (or `limit` calls), one person's request after another's.

    Each person submits a WFH; every approver but the last approves it, the last returns it, the person
    resubmits, and round again: Updates — decisions and resubmissions — keep arriving for as long as the load
    runs, and every request is left in flight, pending at some step or returned. A person whose call is refused
    (a unit must keep someone at the office) drops out. Each outcome is "<action> <status>".
    """
    portal = Portal(portal_base)
    requests: dict[str, dict[str, Any] | None] = dict.fromkeys(people)
    while requests and not stop.is_set() and len(outcomes) < limit:
        for nip in list(requests):
            if stop.is_set():
                break
            request = requests[nip]
            if request is None:
                action = "submit"
                r = portal.http.post("/api/requests", headers=portal.auth(nip), json=LOAD_WFH)
            elif request["status"] == "RETURNED":
                action = "resubmit"
                r = portal.http.post(f"/api/requests/{request['id']}/resubmit", headers=portal.auth(nip), json=LOAD_WFH)
            else:
                task_id = request["current_task_id"]
                step = int(task_id.rsplit("s", 1)[1])
                last = step == len(request["route_steps"]) - 1
                action = "return" if last else "approve"
                body = {"decision": action, "comment": "Mohon dilengkapi"} if last else {"decision": action}
                approver = request["route_steps"][step]["approver_nip"]
                r = portal.http.post(f"/api/tasks/{task_id}/decision", headers=portal.auth(approver), json=body)
            outcomes.append(f"{action} {r.status_code}")
            details.append(f"{nip} {action} {r.status_code} {r.text[:160]}")
            if r.status_code in (200, 201):
                requests[nip] = r.json()
            else:
                del requests[nip]


def flipped_copy(source: Path, member_name: str, target: Path) -> Path:
    shutil.copyfile(source, target)
    with tarfile.open(target) as tar:
        member = tar.getmember(member_name)
        offset = member.offset_data + member.size // 2
    with target.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x40]))
    return target


async def read_model_differences(dsn: str) -> list[str]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:

        async def snapshot() -> dict[str, list[dict[str, Any]]]:
            async with pool.acquire() as conn:
                return {
                    table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")]
                    for table, key in TABLE_KEYS.items()
                }

        live = await snapshot()
        await rebuild_read_models(pool)
        rebuilt = await snapshot()
    finally:
        await pool.close()
    return [table for table in TABLE_KEYS if live[table] != rebuilt[table]]


async def wait_projected(dsn: str, timeout: float = 120) -> None:
    """Until the read-model projection has applied the store's head and the head stopped moving."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        previous = -1
        while time.monotonic() < deadline:
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            done = await conn.fetchval("SELECT position FROM projection_checkpoints WHERE name = 'read-models'")
            if done == head == previous:
                return
            previous = head if done == head else -1
            await asyncio.sleep(0.5)
        raise AssertionError(f"projection did not catch up: head {head}, projected {done}")
    finally:
        await conn.close()


async def in_flight_ids(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT request_id::text FROM rm_requests WHERE status IN ('PENDING', 'RETURNED')")
    finally:
        await conn.close()
    return [row["request_id"] for row in rows]


def kill_stack(proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
    children = list(info["pids"].values())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 20
    while survivors(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert survivors(children) == []


def test_backup_under_load_survives_a_lost_disk(tmp_path: Path) -> None:
    home = tmp_path / "kantor"
    home.mkdir()
    state = home / ".lentur"
    port = free_port()
    backup = tmp_path / "cadangan.tar"
    proc = start(home, port)
    try:
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])

        # Requests in every state.
        leave = portal.to_the_end(portal.submit(KENDARI_STAFF, ANNUAL_LEAVE))
        assert leave["status"] == "APPROVED"
        wfa = portal.to_the_end(
            portal.submit(
                LUWU_STAFF,
                {
                    "kind": "WFA",
                    "dates": ["2025-12-30"],
                    "reason": "Bekerja dari kampung",
                    "location": {"text": "Masamba", "country": "ID"},
                },
            )
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [
            duty
            for duty in portal.http.get(
                "/api/compliance", params={"date": "2025-12-30"}, headers=portal.auth(LUWU_OPD_HEAD)
            ).json()
            if duty["request_id"] == wfa["id"]
        ]:
            time.sleep(0.3)  # the duties appear once the compliance workflow has scheduled them
        checked_in = portal.http.post(
            f"/api/requests/{wfa['id']}/check-ins", headers=portal.auth(LUWU_STAFF), json={"text": "Masamba"}
        )
        assert checked_in.status_code == 201, checked_in.text
        at_unit_head = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2026-01-02"], "reason": "Rekap data"})
        at_opd_head = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2026-01-05"], "reason": "Rekap data"})
        at_opd_head = portal.decide(KENDARI_UNIT_HEAD, at_opd_head["current_task_id"])
        assert at_opd_head["current_tier"] == "OPD_HEAD"
        returned = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2026-01-06"], "reason": "Rekap"})
        returned = portal.decide(KENDARI_UNIT_HEAD, returned["current_task_id"], "return")
        assert returned["status"] == "RETURNED"
        deadline = time.monotonic() + 60
        letters: list[dict[str, Any]] = []
        while not letters and time.monotonic() < deadline:
            r = portal.http.get(f"/api/requests/{leave['id']}/documents", headers=portal.auth(KENDARI_STAFF))
            letters = r.json() if r.status_code == 200 else []
            time.sleep(0.3)
        assert letters, "no letter for the approved leave"
        letter = letters[0]
        pdf = portal.http.get(f"/api/documents/{letter['id']}", headers=portal.auth(KENDARI_STAFF)).content

        # The backup, while submissions and decisions keep arriving, three people at a time. A decision is a
        # Temporal Update, durable in Temporal only when its workflow task completes; the backup fence keeps the
        # copy of Temporal out of the moment between a decision's append to the store and that completion
        # (docs/BACKUP.md, "The backup fence"), or the restored store would hold a decision its workflow never
        # heard of.
        stop = threading.Event()
        outcomes: list[str] = []
        details: list[str] = []
        people = load_people()
        loads = [
            threading.Thread(target=background_load, args=(info["http_url"], people[i::3], stop, outcomes, details))
            for i in range(3)
        ]
        for load in loads:
            load.start()
        while not any(o.startswith("approve 200") for o in outcomes) and any(load.is_alive() for load in loads):
            time.sleep(0.05)
        made = lentur(home, "backup", str(backup))
        # The load went on for the whole backup: it still makes calls after the backup is done.
        during = len(outcomes)
        while len(outcomes) <= during and any(load.is_alive() for load in loads):
            time.sleep(0.05)
        stop.set()
        for load in loads:
            load.join(120)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "menunggu keputusan yang sedang berjalan" in made.stderr, made.stderr
        assert len(outcomes) > during, details[-5:]
        assert all(int(o.split()[1]) < 500 for o in outcomes), details
        assert {"approve 200", "return 200", "resubmit 200"} <= set(outcomes), details
        with tarfile.open(backup) as tar:
            names = tar.getnames()
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        assert names[0] == MANIFEST and {PART_TEMPORAL, PART_STORE, PART_CLOCK} <= set(names)
        assert manifest["store_head"] > 0 and manifest["events"] == manifest["store_head"]
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing half-written left

        # The disk dies.
        kill_stack(proc, info)
        shutil.rmtree(state)

        # A damaged copy is refused, by the check and by a restore, naming the part; nothing is restored.
        for member in (MANIFEST, PART_TEMPORAL, PART_STORE, PART_CLOCK):
            bad = flipped_copy(backup, member, tmp_path / f"rusak-{member}.tar")
            checked = lentur(home, "restore", "--check", str(bad))
            assert checked.returncode != 0 and member in checked.stderr, (member, checked.stderr)
            refused = lentur(home, "restore", str(bad))
            assert refused.returncode != 0 and member in refused.stderr, (member, refused.stderr)
            assert not state.exists() or not any(state.iterdir())
        checked = lentur(home, "restore", "--check", str(backup))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert json.loads(checked.stdout)["head"] == manifest["store_head"]

        restored = lentur(home, "restore", str(backup))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"{manifest['events']} peristiwa sampai posisi {manifest['store_head']}" in restored.stdout
        again = lentur(home, "restore", str(backup))
        assert again.returncode != 0 and "--force" in again.stderr

        proc = start(home, port)
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])
        dsn = info["database_url"]

        # Every event up to the backup's head is there, and the chain verifies.
        async def at_head() -> tuple[int, str]:
            conn = await asyncpg.connect(dsn)
            try:
                count = await conn.fetchval("SELECT count(*) FROM events WHERE position <= $1", manifest["store_head"])
                chain = await conn.fetchval("SELECT chain_hash FROM events WHERE position = $1", manifest["store_head"])
            finally:
                await conn.close()
            return int(count), str(chain)

        assert asyncio.run(at_head()) == (manifest["events"], manifest["store_head_hash"])
        # Every request's workflow agrees with its stream in the store: none came back split.
        reconciled = lentur(home, "reconcile", "--json")
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert json.loads(reconciled.stdout)["counts"]["ok"] >= len(asyncio.run(in_flight_ids(dsn)))
        verified = lentur(home, "audit", "verify", database_url=dsn)
        assert verified.returncode == 0, verified.stdout + verified.stderr

        # The read models equal a rebuild from the store.
        asyncio.run(wait_projected(dsn))
        assert asyncio.run(read_model_differences(dsn)) == []

        # What was pending at backup time is in its approvers' inboxes and can be decided to the end.
        inbox = portal.http.get("/api/tasks", headers=portal.auth(KENDARI_UNIT_HEAD)).json()
        assert at_unit_head["id"] in {t["request_id"] for t in inbox}
        assert portal.to_the_end(portal.get(KENDARI_STAFF, at_unit_head["id"]))["status"] == "APPROVED"
        assert portal.to_the_end(portal.get(KENDARI_STAFF, at_opd_head["id"]))["status"] == "APPROVED"
        r = portal.http.post(
            f"/api/requests/{returned['id']}/resubmit",
            headers=portal.auth(KENDARI_STAFF),
            json={"kind": "WFH", "dates": ["2026-01-06"], "reason": "Rekap data triwulan"},
        )
        assert r.status_code == 200, r.text
        assert portal.to_the_end(r.json())["status"] == "APPROVED"

        async def in_flight() -> list[tuple[str, str, str]]:
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch(
                    "SELECT request_id, requester_nip, status FROM rm_requests WHERE status IN ('PENDING', 'RETURNED')"
                )
            finally:
                await conn.close()
            return [(str(row["request_id"]), row["requester_nip"], row["status"]) for row in rows]

        # The load's requests, in flight when the backup was taken: each goes on to the end from where the
        # restored store says it is — a decision the store holds is one its workflow holds too.
        left = asyncio.run(in_flight())
        assert left, details
        for request_id, requester, status in left:
            request = portal.get(requester, request_id)
            if status == "RETURNED":
                r = portal.http.post(
                    f"/api/requests/{request_id}/resubmit", headers=portal.auth(requester), json=LOAD_WFH
                )
                assert r.status_code == 200, r.text
                request = r.json()
            assert portal.to_the_end(request)["status"] == "APPROVED"
        assert asyncio.run(in_flight()) == []

        # The letter still verifies, by its page and by its bytes.
        page = portal.http.get(f"/verifikasi/{letter['id']}", headers={"Accept": "application/json"})
        assert page.status_code == 200 and page.json()["status"] == "genuine"
        upload = portal.http.post(
            f"/verifikasi/{letter['id']}", files={"berkas": ("surat.pdf", pdf, "application/pdf")}
        )
        assert upload.status_code == 200 and "genuine" in upload.text

        verified = lentur(home, "audit", "verify", database_url=dsn)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "IdempotencyConflict" not in (state / "logs" / "worker.log").read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def fast_pack(pack: str, version: str, remind: str, escalate: str) -> bytes:
    """A region's bundled pack with short approval timers, as its admin would publish it."""
    text = bundled_pack_texts()[pack].replace("version: 2025.12.1.1", f"version: {version}", 1)
    default = "  remind_after: PT8H\n  escalate_after: P1D\n  escalate_to: next_tier"
    assert default in text
    return text.replace(
        default, f"  remind_after: {remind}\n  escalate_after: {escalate}\n  escalate_to: next_tier"
    ).encode()


def test_timers_set_before_the_backup_fire_after_the_restore(tmp_path: Path) -> None:
    """A reminder, an escalation and an expiry, all due after the backup: the timers live in Temporal's copy.

    Kendari reminds after 50 s and escalates after an hour: its request is reminded after the restore. Luwu
    Utara reminds after 45 s and escalates after 50 s: the escalation moves its request to the kepala OPD (when
    both are due by the time the stack is back, it takes the place of the reminder). A request still waiting
    on its only day expires at midnight, two minutes after the start. The backup is taken well before the
    first of them is due (it takes a few seconds; the margin is for a slow machine).
    """
    home = tmp_path / "kantor"
    home.mkdir()
    state = home / ".lentur"
    port = free_port()
    backup = tmp_path / "cadangan.tar.gz"
    before_midnight = "2025-12-30T23:58:00+08:00"
    proc = start(home, port, before_midnight)
    try:
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])
        waiting = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Rekap data"})
        for admin, pack, remind, escalate in (
            (KENDARI_ADMIN, "kendari.yaml", "PT50S", "PT1H"),
            (LUWU_ADMIN, "luwu-utara.yaml", "PT45S", "PT50S"),
        ):
            r = portal.http.post(
                "/api/policy/packs",
                headers={**portal.auth(admin), "content-type": "application/yaml"},
                content=fast_pack(pack, "2025.12.90", remind, escalate),
            )
            assert r.status_code == 201, r.text
        to_remind = portal.submit(KENDARI_STAFF, {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Rekap data"})
        to_escalate = portal.submit(
            LUWU_STAFF,
            {
                "kind": "WFA",
                "dates": ["2025-12-31"],
                "reason": "Bekerja dari kampung",
                "location": {"text": "Masamba", "country": "ID"},
            },
        )
        assert to_remind["policy"]["version"] == to_escalate["policy"]["version"] == "2025.12.90"
        assert to_escalate["current_tier"] == "UNIT_HEAD"
        made = lentur(home, "backup", str(backup))
        assert made.returncode == 0, made.stdout + made.stderr
        kill_stack(proc, info)
        shutil.rmtree(state)
        restored = lentur(home, "restore", str(backup))
        assert restored.returncode == 0, restored.stdout + restored.stderr

        async def in_restored_store() -> tuple[str, list[str]]:
            infra = EmbeddedInfrastructure(state)
            try:
                conn = await asyncpg.connect(infra.start_database_only())
                try:
                    status = await conn.fetchval("SELECT status FROM rm_requests WHERE request_id = $1", waiting["id"])
                    fired = await conn.fetch(
                        "SELECT type FROM events WHERE stream_id = ANY($1::text[]) AND type IN "
                        "('TaskReminded', 'TaskEscalated', 'RequestExpired')",
                        [request_stream(r["id"]) for r in (waiting, to_remind, to_escalate)],
                    )
                    return str(status), [row["type"] for row in fired]
                finally:
                    await conn.close()
            finally:
                infra.stop()

        # Taken before any of them was due: the backup holds the requests waiting, and the timers that move them.
        assert asyncio.run(in_restored_store()) == ("PENDING", [])
        proc = start(home, port, before_midnight)
        info = wait_ready(state, proc)
        portal = Portal(info["http_url"])

        def task_of(nip: str, request: dict[str, Any]) -> dict[str, Any] | None:
            inbox = portal.http.get("/api/tasks", headers=portal.auth(nip)).json()
            return next((t for t in inbox if t["request_id"] == request["id"]), None)

        deadline = time.monotonic() + 240
        status, reminded, escalated = "", None, None
        while time.monotonic() < deadline:
            status = portal.get(KENDARI_STAFF, waiting["id"])["status"]
            reminded = task_of(KENDARI_UNIT_HEAD, to_remind)
            escalated = task_of(LUWU_OPD_HEAD, to_escalate)
            if status == "EXPIRED" and reminded and reminded["reminders"] == 1 and escalated:
                break
            time.sleep(0.5)
        assert status == "EXPIRED"
        assert waiting["id"] not in {
            t["request_id"] for t in portal.http.get("/api/tasks", headers=portal.auth(KENDARI_UNIT_HEAD)).json()
        }
        assert reminded is not None and reminded["reminders"] == 1 and reminded["overdue"], reminded
        assert escalated is not None and escalated["tier"] == "OPD_HEAD", escalated
        assert task_of(LUWU_UNIT_HEAD, to_escalate) is None

        async def audit_log(request: dict[str, Any]) -> list[str]:
            conn = await asyncpg.connect(info["database_url"])
            try:
                rows = await conn.fetch(
                    "SELECT type FROM events WHERE stream_id = $1 ORDER BY position", request_stream(request["id"])
                )
            finally:
                await conn.close()
            return [row["type"] for row in rows]

        assert "TaskReminded" in asyncio.run(audit_log(to_remind))
        assert "TaskEscalated" not in asyncio.run(audit_log(to_remind))
        assert "TaskEscalated" in asyncio.run(audit_log(to_escalate))
        # The escalated task can be decided by the kepala OPD, to the end.
        assert portal.decide(LUWU_OPD_HEAD, escalated["task_id"])["status"] == "APPROVED"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
