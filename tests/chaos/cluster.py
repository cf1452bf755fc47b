"""A Lentur cluster of separate processes on its own embedded Postgres, NATS and Temporal, for fault injection.

The API, the worker and two projector replicas run as `python -m deploy.cli serve|worker|projector`, each
a process this module can SIGKILL and start again; the infrastructure is this cluster's own (not the test
session's), so restarting Postgres or NATS disturbs no other test. Migrations run as the schema owner and
the components log in as a member of the restricted `lentur_app` role, as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from deploy.bootstrap import api_container, prepare_database, settings_env
from deploy.infra import EmbeddedInfrastructure, InfraAddresses
from deploy.processes import ManagedProcess, free_port, port_accepts
from eventstore.migrate import migrate
from runtime.settings import Settings
from services.admin.directory import import_directory

ROOT = Path(__file__).resolve().parents[2]
HEADER = "nip,name,employee_type,region,opd_code,opd_name,opd_class,unit_code,unit_name,roles,acting_for"
SIMULATED_NOW = "2025-12-22T09:00:00+08:00"
APP_LOGIN = "lentur_chaos_app"


@dataclass
class Staff:
    nip: str
    region: str
    unit: str


@dataclass
class Directory:
    csv: str
    staff: list[Staff]
    admins: dict[str, str]


def chaos_directory(per_unit: int = 25, units: int = 5) -> Directory:
    """Two support OPDs (Kendari, Kutai Timur) with `units` units of `per_unit` staff each, plus their heads."""
    serial = itertools.count(1)
    rows = [HEADER]
    staff: list[Staff] = []
    admins: dict[str, str] = {}

    def nip() -> str:
        n = next(serial)
        born = 1975 + n % 20
        return f"{born}{n % 12 + 1:02d}{n % 28 + 1:02d}{born + 25}{n % 12 + 1:02d}{n % 2 + 1}{n:03d}"

    def person(region: str, opd: str, opd_name: str, unit: str, unit_name: str, roles: str) -> str:
        number = nip()
        rows.append(f"{number},Pegawai {number[-3:]},PNS,{region},{opd},{opd_name},support,{unit},{unit_name},{roles},")
        return number

    for region, opd, opd_name in (("kendari", "DISKOMINFO", "Diskominfo"), ("kutai-timur", "BAPPEDA", "Bappeda")):
        person(region, "SETDA-PPK", "Kepala Daerah", "PPK", "Kepala Daerah", "ppk")
        admins[region] = person(region, "BKPSDM-ADM", "BKPSDM", "ADM", "Admin Kepegawaian", "admin")
        person(region, "INSPEKTORAT", "Inspektorat", "INSP-1", "Inspektur Pembantu I", "inspector")
        person(region, opd, opd_name, f"{opd}-SEK", "Sekretariat", "opd_head")
        for u in range(1, units + 1):
            unit = f"{opd}-U{u}"
            person(region, opd, opd_name, unit, f"Bidang {u}", "unit_head")
            for _ in range(per_unit):
                staff.append(Staff(person(region, opd, opd_name, unit, f"Bidang {u}", ""), region, unit))
    # Alternate the regions, so every slice of the workload has both.
    by_region = [[s for s in staff if s.region == r] for r in ("kendari", "kutai-timur")]
    mixed = [person for pair in zip(*by_region, strict=True) for person in pair]
    return Directory("\n".join(rows) + "\n", mixed, admins)


def _as(url: str, user: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}@{rest.split('@', 1)[1]}"


@dataclass
class ChaosCluster:
    state_dir: Path
    infra: EmbeddedInfrastructure = field(init=False)
    addresses: InfraAddresses = field(init=False)
    settings: Settings = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    directory: Directory = field(default_factory=chaos_directory)
    http_port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def owner_url(self) -> str:
        return self.addresses.database_url

    async def start(self) -> None:
        self.infra = EmbeddedInfrastructure(self.state_dir / ".lentur")
        self.addresses = await asyncio.to_thread(self.infra.start)
        owner = await asyncpg.connect(self.owner_url)
        try:
            await migrate(owner)
            await owner.execute(
                f"DO $$ BEGIN CREATE ROLE {APP_LOGIN} LOGIN IN ROLE lentur_app; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        finally:
            await owner.close()
        self.http_port = free_port()
        self.settings = Settings(
            env="test",
            database_url=_as(self.owner_url, APP_LOGIN),
            migration_database_url=self.owner_url,
            temporal_address=self.addresses.temporal_address,
            nats_url=self.addresses.nats_url,
            dev_auth=True,
            simulated_now=datetime.fromisoformat(SIMULATED_NOW),
            simulated_anchor=datetime.now().astimezone(),
            http_port=self.http_port,
            write_burst=1_000_000,
            read_your_writes_timeout_seconds=5.0,
            log_level="INFO",
        )
        await prepare_database(self.settings)
        self.env = settings_env(self.settings)
        async with api_container(self.settings) as container:
            await import_directory(container, self.directory.csv, actor="system")
        for name in ("projector-1", "projector-2", "worker", "api"):
            self.processes[name] = self._component(name)
            self.processes[name].start()
        await self.wait_ready()

    def _component(self, name: str) -> ManagedProcess:
        command = {"api": "serve", "worker": "worker"}.get(name, "projector")
        env = dict(self.env)
        if name != "api":
            env["LENTUR_METRICS_PORT"] = str(free_port())
        return ManagedProcess(
            name=name,
            argv=[sys.executable, "-m", "deploy.cli", command],
            pid_dir=self.state_dir / "run",
            log_path=self.state_dir / "logs" / f"{name}.log",
            env=env,
            cwd=ROOT,
        )

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.processes[name].env['LENTUR_METRICS_PORT']}/metrics"

    def _metrics_served(self) -> bool:
        """Every component with a metrics port (worker, projectors) accepts connections on it: it has started."""
        ports = [p.env["LENTUR_METRICS_PORT"] for p in self.processes.values() if "LENTUR_METRICS_PORT" in p.env]
        return all(port_accepts(int(port)) for port in ports)

    async def wait_ready(self, timeout: float = 90) -> None:
        """The API answers /readyz and every other component serves its metrics (a restarted one is up again)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            while time.monotonic() < deadline:
                for name, proc in self.processes.items():
                    if not proc.alive():
                        raise RuntimeError(f"{name} exited:\n{proc.tail()}")
                try:
                    if (await http.get("/readyz")).status_code == 200 and self._metrics_served():
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError("the cluster did not become ready\n" + self.processes["api"].tail())

    # -- faults -------------------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hooks, no flushing, in-flight work simply stops."""
        self.processes[name].kill()

    def start_component(self, name: str) -> None:
        self.processes[name].start()

    async def wait_port(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not port_accepts(port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {port} not accepting")
            await asyncio.sleep(0.1)

    async def restart_infrastructure(self, name: str, *, kill: bool = False) -> None:
        """Stop one of Postgres, NATS and Temporal (with SIGKILL when `kill`: nothing flushed, no shutdown) and
        start it again on the same port and data."""
        if kill:
            self.infra.processes[name].kill()
        await asyncio.to_thread(self.infra.restart, name)

    async def stop(self) -> None:
        for proc in self.processes.values():
            await asyncio.to_thread(proc.stop)
        await asyncio.to_thread(self.infra.stop)

    def logs(self) -> str:
        return "\n".join(p.log_path.read_text(errors="replace") for p in self.processes.values() if p.log_path.exists())

    # -- database -----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self, *, owner: bool = False) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.owner_url if owner else self.settings.database_url)
        try:
            yield conn
        finally:
            await conn.close()

    async def scalar(self, sql: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(sql, *args)
