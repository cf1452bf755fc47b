"""Child processes that cannot outlive their parent.

Every process the stack starts gets PR_SET_PDEATHSIG, so a `kill -9` of `lentur up` takes its children
with it; a pid file per child lets the next start clean up anything that still slipped through.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import structlog

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1", avoid: Sequence[int] = (4222, 5432, 7233, 8233)) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _child_setup(uid: int | None, gid: int | None, death_signal: int) -> Callable[[], None]:
    def setup() -> None:
        os.setsid()
        if gid is not None:
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        # After setuid: changing credentials clears the parent-death signal, so set it last.
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)

    return setup


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    pid_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    uid: int | None = None
    gid: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def pid_file(self) -> Path:
        return self.pid_dir / f"{self.name}.json"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        with open(self.log_path, "ab") as log_file:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.cwd,
                preexec_fn=_child_setup(self.uid, self.gid, self.stop_signal),  # noqa: PLW1509
            )
        create_time = psutil.Process(self.popen.pid).create_time()
        self.pid_file.write_text(json.dumps({"pid": self.popen.pid, "create_time": create_time, "argv": self.argv}))
        log.info("process_started", process=self.name, pid=self.popen.pid)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("process_kill", process=self.name, pid=self.popen.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.pid_file.unlink(missing_ok=True)
        log.info("process_stopped", process=self.name, returncode=self.popen.returncode)

    def kill(self) -> None:
        """Hard kill, for fault-injection tests."""
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def reap_leftovers(pid_dir: Path) -> list[int]:
    """Kill processes a crashed run left behind; only those whose pid file we wrote and that still match."""
    killed: list[int] = []
    if not pid_dir.exists():
        return killed
    for pid_file in pid_dir.glob("*.json"):
        try:
            info = json.loads(pid_file.read_text())
            proc = psutil.Process(int(info["pid"]))
            if abs(proc.create_time() - float(info["create_time"])) < 1.0:
                log.warning("reaping_leftover", pid=proc.pid, file=pid_file.name)
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child.kill()
                proc.kill()
                proc.wait(10)
                killed.append(proc.pid)
        except (psutil.NoSuchProcess, ValueError, KeyError, json.JSONDecodeError):
            pass
        pid_file.unlink(missing_ok=True)
    return killed


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.alive():
            raise RuntimeError(f"{what}: process exited early\n{process.tail()}")
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s" + (f"\n{process.tail()}" if process else ""))
