"""`lentur up --demo` as a user runs it: one command, a URL, clean stops, and resumption after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from deploy.processes import free_port

pytestmark = pytest.mark.e2e

STAFF = "199505042021012163"
UNIT_HEAD = "197506201999081160"
OPD_HEAD = "199503222018022159"


def start(state_dir: Path, port: int) -> subprocess.Popen[bytes]:
    log = open(state_dir.parent / "up.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "up", "--demo", "--state-dir", str(state_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=state_dir.parent,
    )


def wait_ready(state_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, (state_dir.parent / "up.log").read_text()[-3000:]
        stack = state_dir / "stack.json"
        if stack.exists():
            info = json.loads(stack.read_text())
            try:
                if httpx.get(info["http_url"] + "/readyz", timeout=2).status_code == 200:
                    return info
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    raise AssertionError("lentur up did not become ready:\n" + (state_dir.parent / "up.log").read_text()[-3000:])


def token(base: str, nip: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/dev/token", json={"nip": nip})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def survivors(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_up_stops_cleanly_and_resumes_after_a_crash(tmp_path: Path) -> None:
    state_dir = tmp_path / ".lentur"
    port = free_port()
    proc = start(state_dir, port)
    try:
        info = wait_ready(state_dir, proc)
        for key in ("http_url", "database_url", "temporal_address", "nats_url"):
            assert info[key]
        base = info["http_url"]
        created = httpx.post(
            f"{base}/api/requests",
            headers=token(base, STAFF),
            timeout=30,
            json={"kind": "WFH", "dates": ["2025-12-30"], "reason": "Merawat orang tua"},
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        task_id = created.json()["current_task_id"]
        # The demo stack's own SMTP server files the unit head's task mail under .lentur/mail/.
        assert info["smtp_url"].startswith("smtp://")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            f"{UNIT_HEAD}@demo.lentur.invalid" in p.read_text(errors="replace")
            for p in (state_dir / "mail").glob("*.eml")
        ):
            time.sleep(0.2)
        assert any(request_id in p.read_text(errors="replace") for p in (state_dir / "mail").glob("*.eml"))

        # A crash: the supervisor is killed outright; its children must not outlive it.
        children = list(info["pids"].values())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while survivors(children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert survivors(children) == []

        proc = start(state_dir, port)
        info = wait_ready(state_dir, proc)
        base = info["http_url"]
        r = httpx.post(
            f"{base}/api/tasks/{task_id}/decision",
            headers=token(base, UNIT_HEAD),
            timeout=30,
            json={"decision": "approve"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["current_tier"] == "OPD_HEAD"

        # A clean stop with SIGTERM, then a start again: still there, and it finishes.
        children = list(info["pids"].values())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert survivors(children) == []
        assert not (state_dir / "stack.json").exists()

        proc = start(state_dir, port)
        info = wait_ready(state_dir, proc)
        base = info["http_url"]
        r = httpx.post(
            f"{base}/api/tasks/{request_id}-r1s1/decision",
            headers=token(base, OPD_HEAD),
            timeout=30,
            json={"decision": "approve"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "APPROVED"
        assert r.json()["clock"] == "simulated"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
