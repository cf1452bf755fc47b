"""`lentur backup FILE`: an online, consistent backup of the `lentur up` running in this directory.

The order (docs/BACKUP.md): while holding the event store's append lock — the same advisory lock every
append takes, so no event can be appended meanwhile — export a Postgres snapshot and copy Temporal's SQLite
database with SQLite's online backup; then release the lock and `pg_dump` the exported snapshot. Appends
wait only for the SQLite copy. Temporal's copy can therefore never know an event the store's copy lacks,
and the store's copy holds no event appended after Temporal's copy; the only events it may hold beyond
what Temporal recorded are appends whose activity had not reported back yet, and a retried activity
re-appends those under the same event ids, which the store answers as duplicates.

Before the lock, the backup fence (runtime/backup_fence.py): no new Update may start, and those in flight
complete first, so no decision is between its append and its completion in Temporal when the copy is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import asyncpg
from cryptography.exceptions import InvalidTag
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from deploy.backup.archive import write_archive
from deploy.backup.manifest import (
    PART_CLOCK,
    PART_STORE,
    PART_TEMPORAL,
    AuditKey,
    BackupRefused,
    Manifest,
    TemporalInfo,
    hash_file,
    vault_secret_id,
)
from deploy.infra import postgres_tool, temporal_cli
from runtime.backup_fence import FENCE_FILE, INTENT_FILE, FenceUnavailable, backup_hold
from runtime.settings import Settings

# The lock `lentur_append` takes for every batch (eventstore/migrations/0001_events.sql).
APPEND_LOCK = 7461626
IN_FLIGHT = ("PENDING", "RETURNED")
# How long the backup waits for the Updates in flight (or another backup) before it gives up.
FENCE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    size: int
    seconds: float


class Steps:
    """A progress bar on a terminal, one plain line per step otherwise (cron mail, logs)."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        )
        self.task = self.progress.add_task("cadangan", total=total)

    @contextlib.contextmanager
    def running(self) -> Iterator[Steps]:
        if not self.live:
            yield self
            return
        with self.progress:
            yield self

    def step(self, description: str) -> None:
        if self.live:
            self.progress.update(self.task, description=description, advance=1)
        else:
            self.console.print(f"- {description}", highlight=False)


def temporal_server_version() -> str | None:
    """The server release of the installed `temporal` CLI (e.g. '1.27.2'), or None when it cannot say."""
    try:
        out = subprocess.run([temporal_cli(), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return None
    marker = "Server "
    if marker not in out:
        return None
    return out.split(marker, 1)[1].split(",", 1)[0].split(")", 1)[0].strip() or None


def sqlite_schema_fingerprint(path: Path) -> str | None:
    """The dev server keeps no schema version in its SQLite file; a digest of its table definitions stands in."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
        text = "\n".join(f"{kind}|{name}|{sql}" for kind, name, sql in rows)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup in one step: one read transaction, so the copy is one consistent state."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def stack_in(state_dir: Path) -> dict[str, object]:
    """The addresses of the `lentur up` running with its state in `state_dir` (its stack.json)."""
    path = state_dir / "stack.json"
    if not path.exists():
        raise BackupRefused(
            str(path), "tidak ada lentur up yang berjalan di direktori ini (jalankan lentur backup di sana)"
        )
    stack: dict[str, object] = json.loads(path.read_text())
    return stack


async def _vault_id(conn: asyncpg.Connection, settings: Settings) -> str:
    """The id of the vault secret — after checking it really opens the stack's keys, so the id is right."""
    from services.kernel.privacy import _unwrap, key_encryption_key

    secret = settings.vault_key_secret
    row = await conn.fetchrow("SELECT kid, wrapped_key FROM subject_keys WHERE wrapped_key IS NOT NULL LIMIT 1")
    if row is not None:
        try:
            _unwrap([key_encryption_key(secret)], bytes(row["wrapped_key"]), row["kid"])
        except InvalidTag as exc:
            raise BackupRefused(
                "vault",
                "LENTUR_VAULT_SECRET di lingkungan ini bukan rahasia yang dipakai tumpukan yang berjalan; "
                "jalankan lentur backup dengan lingkungan yang sama",
            ) from exc
    return vault_secret_id(secret)


def _audit_key(settings: Settings, state_dir: Path) -> AuditKey | None:
    from services.audit.signing import KEY_FILE, CheckpointSigner, parse_private_key

    if settings.audit_signing_key is not None:
        key = parse_private_key(settings.audit_signing_key.get_secret_value())
    elif (state_dir / KEY_FILE).exists():
        key = parse_private_key((state_dir / KEY_FILE).read_text())
    else:
        return None
    signer = CheckpointSigner(key)
    return AuditKey(key_id=signer.key_id, public_key=signer.public_key)


async def _dump(dsn: str, snapshot: str, target: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        postgres_tool("pg_dump"),
        "--format=custom",
        f"--snapshot={snapshot}",
        f"--file={target}",
        "--no-password",
        dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {err.decode(errors='replace')[-2000:]}")


@contextlib.asynccontextmanager
async def _fenced(state_dir: Path, timeout: float) -> AsyncIterator[None]:
    """No Update starts, and those in flight have completed, until the block ends (runtime/backup_fence.py)."""
    try:
        async with backup_hold(state_dir, timeout=timeout):
            yield
    except FenceUnavailable as unavailable:
        if unavailable.path.name == INTENT_FILE:
            reason = f"cadangan lain sedang berjalan di {state_dir} dan belum selesai dalam {timeout:.0f} detik"
        else:
            reason = f"keputusan yang sedang berjalan belum selesai dalam {timeout:.0f} detik; coba lagi sebentar lagi"
        raise BackupRefused(str(state_dir / FENCE_FILE), reason) from unavailable


async def _take(
    state_dir: Path, work: Path, settings: Settings, steps: Steps, fence_timeout: float = FENCE_TIMEOUT_SECONDS
) -> Manifest:
    stack = stack_in(state_dir)
    dsn = str(stack["database_url"])
    temporal_db = state_dir / "temporal" / "temporal.db"
    if not temporal_db.exists():
        raise BackupRefused(str(temporal_db), "basis data Temporal tidak ditemukan")
    locker = await asyncpg.connect(dsn, server_settings={"application_name": "lentur-backup"})
    snap = await asyncpg.connect(dsn, server_settings={"application_name": "lentur-backup"})
    try:
        vault_id = await _vault_id(snap, settings)
        postgres_version = str(await snap.fetchval("SHOW server_version"))
        steps.step("menunggu keputusan yang sedang berjalan")
        async with _fenced(state_dir, fence_timeout):
            steps.step("menahan penambahan peristiwa")
            await locker.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)
            try:
                await snap.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                snapshot = str(await snap.fetchval("SELECT pg_export_snapshot()"))
                steps.step("menyalin basis data Temporal (SQLite online backup)")
                copy_sqlite(temporal_db, work / PART_TEMPORAL)
            finally:
                await locker.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK)
        head = await snap.fetchrow("SELECT position, chain_hash FROM events ORDER BY position DESC LIMIT 1")
        events = int(await snap.fetchval("SELECT count(*) FROM events"))
        in_flight = int(
            await snap.fetchval("SELECT count(*) FROM rm_requests WHERE status = ANY($1::text[])", list(IN_FLIGHT))
        )
        steps.step("membuang penyimpanan peristiwa (pg_dump)")
        await _dump(dsn, snapshot, work / PART_STORE)
        await snap.execute("COMMIT")
    finally:
        await snap.close()
        await locker.close()
    parts = [hash_file(work / PART_TEMPORAL), hash_file(work / PART_STORE)]
    clock = state_dir / "clock.json"
    if clock.exists():
        shutil.copyfile(clock, work / PART_CLOCK)
        parts.append(hash_file(work / PART_CLOCK))
    return Manifest(
        lentur_version=version("lentur"),
        created_at=datetime.now(UTC),
        store_head=int(head["position"]) if head else 0,
        store_head_hash=str(head["chain_hash"]) if head else None,
        events=events,
        requests_in_flight=in_flight,
        postgres_version=postgres_version,
        temporal=TemporalInfo(
            server_version=temporal_server_version(), schema_fingerprint=sqlite_schema_fingerprint(work / PART_TEMPORAL)
        ),
        vault_secret_id=vault_id,
        audit_key=_audit_key(settings, state_dir),
        parts=parts,
    )


def take_backup(
    target: Path,
    state_dir: Path,
    settings: Settings,
    console: Console,
    *,
    fence_timeout: float = FENCE_TIMEOUT_SECONDS,
) -> BackupResult:
    started = time.perf_counter()
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    steps = Steps(console, total=5)
    with tempfile.TemporaryDirectory(prefix=".lentur-backup-", dir=target.parent) as tmp, steps.running():
        work = Path(tmp)
        manifest = asyncio.run(_take(state_dir.resolve(), work, settings, steps, fence_timeout))
        steps.step(f"menulis {target.name}")
        size = write_archive(target, manifest, {p.name: work / p.name for p in manifest.parts})
    return BackupResult(path=target, manifest=manifest, size=size, seconds=time.perf_counter() - started)
