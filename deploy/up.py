"""`lentur up`: the embedded stack, the worker, the projector and the portal, supervised in one command.

Every piece runs as a child process that dies with this one. State lives under `.lentur/`, so stopping
(Ctrl-C, SIGTERM, even kill -9) and starting again in the same directory resumes every in-flight request.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
from rich.console import Console
from rich.table import Table

from deploy.infra import EmbeddedInfrastructure, InfraAddresses
from deploy.processes import ManagedProcess, free_port, port_accepts, port_is_free, wait_until
from runtime.settings import Settings

log = structlog.get_logger(__name__)
SAMPLE_DIRECTORY = Path(__file__).resolve().parent / "data" / "directory-sample.csv"
DEMO_NOW = "2025-12-22T09:00:00+08:00"
APP_COMPONENTS = ("projector", "worker", "api")
DEMO_MAIL_DOMAIN = "demo.lentur.invalid"


@dataclass
class UpOptions:
    state_dir: Path
    demo: bool = False
    directory: Path | None = None
    port: int | None = None
    simulated_now: str | None = None
    reset: bool = False
    host: str = "127.0.0.1"


@dataclass
class Supervisor:
    options: UpOptions
    console: Console = field(default_factory=lambda: Console(stderr=True))
    infra: EmbeddedInfrastructure | None = None
    apps: dict[str, ManagedProcess] = field(default_factory=dict)
    restarts: dict[str, list[float]] = field(default_factory=dict)
    stopping: bool = False
    smtp_url: str | None = None
    projector_metrics_port: int = 0
    worker_metrics_port: int = 0

    @property
    def mail_dir(self) -> Path:
        return self.options.state_dir / "mail"

    @property
    def stack_file(self) -> Path:
        return self.options.state_dir / "stack.json"

    def _clock(self) -> tuple[str | None, str | None]:
        """The simulated clock persists across restarts in the same directory, so time never runs backwards."""
        path = self.options.state_dir / "clock.json"
        wanted = self.options.simulated_now or (DEMO_NOW if self.options.demo else None)
        if wanted is None:
            path.unlink(missing_ok=True)
            return None, None
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("requested") == wanted:
                return saved["simulated_now"], saved["anchor"]
        anchor = datetime.now(UTC).isoformat()
        path.write_text(json.dumps({"requested": wanted, "simulated_now": wanted, "anchor": anchor}))
        return wanted, anchor

    def _port(self) -> int:
        if self.options.port:
            return self.options.port
        try:
            previous = int(json.loads(self.stack_file.read_text())["http_port"])
            if port_is_free(previous):
                return previous
        except (OSError, ValueError, KeyError):
            pass
        return 8000 if port_is_free(8000) else free_port()

    def _app_env(self, addresses: InfraAddresses, port: int) -> dict[str, str]:
        simulated_now, anchor = self._clock()
        env = {
            "LENTUR_ENV": "development",
            "LENTUR_STATE_DIR": str(self.options.state_dir),
            # The API holds the backup fence here around each Update, so `lentur backup` never copies one half done.
            "LENTUR_BACKUP_FENCE_DIR": str(self.options.state_dir),
            "LENTUR_DATABASE_URL": addresses.database_url,
            "LENTUR_TEMPORAL_ADDRESS": addresses.temporal_address,
            "LENTUR_NATS_URL": addresses.nats_url,
            "LENTUR_HTTP_HOST": self.options.host,
            "LENTUR_HTTP_PORT": str(port),
            "LENTUR_PUBLIC_BASE_URL": f"http://{self.options.host}:{port}",
            "LENTUR_DEV_AUTH": "true" if self.options.demo else os.environ.get("LENTUR_DEV_AUTH", "false"),
        }
        if simulated_now and anchor:
            env["LENTUR_SIMULATED_NOW"] = simulated_now
            env["LENTUR_SIMULATED_ANCHOR"] = anchor
        if self.smtp_url:
            env["LENTUR_SMTP_URL"] = self.smtp_url
        if "mail" in self.apps:
            # Mail never leaves the machine, so everyone gets an address: <nip>@demo.lentur.invalid.
            env["LENTUR_MAIL_FALLBACK_DOMAIN"] = DEMO_MAIL_DOMAIN
        return env

    def _start_mail_sink(self) -> None:
        """A local SMTP server that files every message under .lentur/mail/, unless a real one is configured."""
        self.smtp_url = os.environ.get("LENTUR_SMTP_URL")
        if self.smtp_url:
            return
        port = free_port(self.options.host)
        sink = ManagedProcess(
            name="mail",
            argv=[
                sys.executable,
                "-m",
                "deploy.mail_sink",
                "--dir",
                str(self.mail_dir),
                "--host",
                self.options.host,
                "--port",
                str(port),
            ],
            pid_dir=self.options.state_dir / "run",
            log_path=self.options.state_dir / "logs" / "mail.log",
        )
        sink.start()
        wait_until(lambda: port_accepts(port, self.options.host), timeout=30, what="mail sink", process=sink)
        self.apps["mail"] = sink
        self.smtp_url = f"smtp://{self.options.host}:{port}"

    def _component(self, name: str, env: dict[str, str]) -> ManagedProcess:
        command = {"api": "serve", "worker": "worker", "projector": "projector"}[name]
        # The API serves /metrics itself; the worker and the projector each get their own port.
        metrics = {"worker": self.worker_metrics_port, "projector": self.projector_metrics_port}.get(name)
        return ManagedProcess(
            name=name,
            argv=[sys.executable, "-m", "deploy.cli", command],
            pid_dir=self.options.state_dir / "run",
            log_path=self.options.state_dir / "logs" / f"{name}.log",
            env={**env, "LENTUR_METRICS_PORT": str(metrics)} if metrics else env,
        )

    def start(self) -> dict[str, Any]:
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        self.infra = EmbeddedInfrastructure(self.options.state_dir)
        with self.console.status("Menyalakan Postgres, Temporal dan NATS…"):
            addresses = self.infra.start(reset=self.options.reset)
        port = self._port()
        self._start_mail_sink()
        self.projector_metrics_port = free_port(self.options.host)
        self.worker_metrics_port = free_port(self.options.host)
        env = self._app_env(addresses, port)
        settings = Settings(**{k[7:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
        with self.console.status("Menyiapkan basis data…"):
            from deploy.bootstrap import prepare_database

            asyncio.run(prepare_database(settings))
        for name in APP_COMPONENTS:
            self.apps[name] = self._component(name, env)
            self.apps[name].start()
        http_url = f"http://{self.options.host}:{port}"
        self._wait_ready(http_url)
        directory = self.options.directory or (SAMPLE_DIRECTORY if self.options.demo else None)
        if directory is not None:
            with self.console.status(f"Mengimpor direktori {directory.name}…"):
                outcome = asyncio.run(_import_directory(settings, directory.read_text(encoding="utf-8")))
            self.console.print(f"Direktori: {outcome}")
        info = {
            "http_url": http_url,
            "http_port": port,
            "database_url": addresses.database_url,
            "temporal_address": addresses.temporal_address,
            "nats_url": addresses.nats_url,
            "smtp_url": self.smtp_url,
            "mail_dir": str(self.mail_dir) if "mail" in self.apps else None,
            "projector_metrics_url": f"http://{self.options.host}:{self.projector_metrics_port}/metrics",
            "worker_metrics_url": f"http://{self.options.host}:{self.worker_metrics_port}/metrics",
            "state_dir": str(self.options.state_dir),
            "simulated_now": env.get("LENTUR_SIMULATED_NOW"),
            "dev_auth": env["LENTUR_DEV_AUTH"] == "true",
            "pids": {name: proc.pid for name, proc in {**self.infra.processes, **self.apps}.items()},
            "supervisor_pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(),
        }
        self.stack_file.write_text(json.dumps(info, indent=2))
        return info

    def _wait_ready(self, http_url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self.console.status("Menunggu layanan siap…"):
            while time.monotonic() < deadline:
                for proc in self.apps.values():
                    if not proc.alive():
                        raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.tail()}")
                try:
                    if httpx.get(f"{http_url}/readyz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
        raise TimeoutError(f"the API did not become ready at {http_url}")

    def supervise(self) -> None:
        """Restart a component that dies (with a bound), until asked to stop."""
        assert self.infra is not None
        while not self.stopping:
            time.sleep(0.5)
            for name, proc in [*self.infra.processes.items(), *self.apps.items()]:
                if self.stopping or proc.alive():
                    continue
                recent = [t for t in self.restarts.get(name, []) if time.monotonic() - t < 60]
                if len(recent) >= 5:
                    self.console.print(f"[red]{name} keeps failing; see {proc.log_path}[/red]")
                    self.stopping = True
                    break
                self.restarts[name] = [*recent, time.monotonic()]
                log.warning("component_restart", component=name, log=str(proc.log_path))
                if name in self.infra.processes:
                    self.infra.restart(name)
                else:
                    proc.start()

    def stop(self) -> None:
        self.stopping = True
        for name in reversed(APP_COMPONENTS):
            if name in self.apps:
                self.apps[name].stop()
        for name, proc in self.apps.items():
            if name not in APP_COMPONENTS:
                proc.stop()
        if self.infra is not None:
            self.infra.stop()
        self.stack_file.unlink(missing_ok=True)


async def _import_directory(settings: Settings, text: str) -> str:
    from deploy.bootstrap import api_container
    from services.admin.directory import import_directory

    async with api_container(settings) as container:
        result = await import_directory(container, text, actor="system")
    if result.unchanged:
        return f"{result.rows} pegawai, tidak ada perubahan"
    return f"{result.rows} pegawai ({result.added} baru, {result.changed} berubah, {result.removed} keluar)"


def demo_logins(database_url: str) -> list[dict[str, str]]:
    async def fetch() -> list[dict[str, str]]:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT DISTINCT ON (region, role) region, role, nip, name, unit_code FROM ("
                "  SELECT region, unnest(CASE WHEN roles = '{}' THEN ARRAY['asn'] ELSE roles END) AS role, nip, name,"
                "         unit_code FROM rm_people WHERE acting_for IS NULL) x "
                "ORDER BY region, role, nip"
            )
        finally:
            await conn.close()
        return [dict(r) for r in rows]

    return asyncio.run(fetch())


NIP_WIDTH = 18
_ROLE_ORDER = ["asn", "unit_head", "opd_head", "ppk", "inspector", "admin"]


def print_demo_logins(console: Console, logins: list[dict[str, Any]]) -> None:
    """The demo accounts, NIP first and always whole (a person copies it into the sign-in page): the other
    columns wrap on a narrow terminal; below the width a table needs at all, one line per account."""
    ordered = sorted(
        logins,
        key=lambda r: (r["region"], _ROLE_ORDER.index(r["role"]) if r["role"] in _ROLE_ORDER else 9),
    )
    title = 'Akun demo (POST /api/dev/token {"nip": ...} atau halaman masuk)'
    if console.width < NIP_WIDTH + 52:  # narrower, the table would break the other columns mid-word
        console.print(title, soft_wrap=True)
        for row in ordered:
            console.print(
                f"{row['nip']}  {row['role']} {row['region']} {row['name']} {row['unit_code'] or ''}",
                soft_wrap=True,
                highlight=False,
            )
        return
    table = Table(title=title)
    table.add_column("NIP", no_wrap=True, min_width=NIP_WIDTH)
    for column in ("wilayah", "peran", "nama", "unit"):
        table.add_column(column, overflow="fold")
    for row in ordered:
        table.add_row(row["nip"], row["region"], row["role"], row["name"], row["unit_code"])
    console.print(table)


def print_welcome(console: Console, info: dict[str, Any]) -> None:
    console.print(f"\n[bold green]Lentur berjalan[/bold green] di {info['http_url']}")
    if info.get("simulated_now"):
        console.print(f"Jam simulasi dimulai {info['simulated_now']} (semua peristiwa ditandai clock=simulated)")
    console.print(f"Alamat layanan tertulis di {Path(info['state_dir']) / 'stack.json'}")
    if info.get("mail_dir"):
        console.print(f"Surel keluar ditampung di {info['mail_dir']} ({info['smtp_url']})")
    if info.get("dev_auth"):
        print_demo_logins(console, demo_logins(info["database_url"]))
    console.print("Tekan Ctrl-C untuk berhenti; data tetap tersimpan di .lentur/.\n")


def run_up(options: UpOptions) -> None:
    supervisor = Supervisor(options)

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        info = supervisor.start()
        print_welcome(supervisor.console, info)
        supervisor.supervise()
    finally:
        with supervisor.console.status("Menghentikan…"):
            supervisor.stop()
        supervisor.console.print("Lentur berhenti.")
