"""`lentur restore FILE` and `lentur restore --check FILE`.

Restore: check the file (every part's SHA-256, the manifest's own digest, the versions and the vault
secret), put Temporal's database and the clock back under `.lentur/`, load the store's dump into a fresh
embedded Postgres, run the migrations, verify the audit chain up to the backup's head, rebuild the read
models, and stop. `lentur up` then resumes every workflow from Temporal's copy.

Check: the same file checks, then the dump loaded into a throwaway Postgres and the chain verified there;
nothing under `.lentur/` is touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from deploy.backup.archive import open_archive
from deploy.backup.manifest import (
    PART_CLOCK,
    PART_STORE,
    PART_TEMPORAL,
    BackupRefused,
    Manifest,
    compatibility_problems,
    vault_secret_id,
)
from deploy.backup.take import IN_FLIGHT, temporal_server_version
from deploy.infra import EmbeddedInfrastructure, postgres_tool
from deploy.processes import reap_leftovers
from runtime.settings import Settings

# Public keys of checkpoints signed before a restore, when the signing key lived on the lost disk.
TRUSTED_KEYS_FILE = "audit-trusted-keys.txt"


@dataclass
class Restored:
    manifest: Manifest
    events: int
    head: int
    head_hash: str | None
    requests_in_flight: int
    verify: dict[str, Any]
    rebuild: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backup_created_at": self.manifest.created_at.isoformat(),
            "events": self.events,
            "head": self.head,
            "head_hash": self.head_hash,
            "requests_in_flight": self.requests_in_flight,
            "audit_verify_ok": bool(self.verify.get("ok")),
            "read_models_rebuilt": bool(self.rebuild),
        }


def _stack_running(state_dir: Path) -> bool:
    try:
        stack = json.loads((state_dir / "stack.json").read_text())
        return bool(psutil.pid_exists(int(stack["supervisor_pid"])))
    except (OSError, ValueError, KeyError, TypeError):
        return False


async def _load_dump(dsn: str, dump: Path) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # Roles belong to the cluster, not to the dump; the grants in it name this one (migration 0060).
        await conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lentur_app') THEN "
            "CREATE ROLE lentur_app NOLOGIN; END IF; END $$"
        )
    finally:
        await conn.close()
    proc = await asyncio.create_subprocess_exec(
        postgres_tool("pg_restore"),
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={dsn}",
        str(dump),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackupRefused(PART_STORE, f"pg_restore gagal: {err.decode(errors='replace')[-1500:]}")


def _trusted(manifest: Manifest, settings: Settings) -> dict[str, str]:
    from services.audit.signing import trusted_keys_from_settings

    extra = [manifest.audit_key.public_key] if manifest.audit_key else []
    return trusted_keys_from_settings(settings, *extra)


async def _verify_loaded(dsn: str, manifest: Manifest, settings: Settings) -> tuple[dict[str, Any], int, str | None]:
    """The audit chain of the loaded dump, and that its head is the manifest's."""
    from eventstore.db import create_pool
    from services.audit.service import verify_store

    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        report = (
            await verify_store(pool, trusted_keys=_trusted(manifest, settings), workers=os.cpu_count() or 1, dsn=dsn)
        ).as_dict()
        head = await pool.fetchrow("SELECT position, chain_hash FROM events ORDER BY position DESC LIMIT 1")
    finally:
        await pool.close()
    position = int(head["position"]) if head else 0
    chain_hash = str(head["chain_hash"]) if head else None
    if not report.get("ok"):
        where = f"di posisi {report['first_bad_position']}"
        raise BackupRefused(PART_STORE, f"rantai audit tidak terverifikasi {where}: {report['reason']}")
    if position != manifest.store_head or chain_hash != manifest.store_head_hash:
        raise BackupRefused(
            PART_STORE,
            f"kepala penyimpanan {position} ({chain_hash}) bukan yang dicatat manifest "
            f"{manifest.store_head} ({manifest.store_head_hash})",
        )
    return report, position, chain_hash


def check_backup(file: Path, settings: Settings) -> dict[str, Any]:
    """Verify a backup file offline; raises BackupRefused naming the bad part."""
    # The throwaway Postgres lives under the system's temporary directory: its socket path must stay short.
    with (
        tempfile.TemporaryDirectory(prefix=".lentur-check-", dir=file.resolve().parent) as tmp,
        tempfile.TemporaryDirectory(prefix="lentur-check-") as scratch,
    ):
        manifest, files = open_archive(file, Path(tmp))
        infra = EmbeddedInfrastructure(Path(scratch))
        try:
            dsn = infra.start_database_only()
            asyncio.run(_load_dump(dsn, files[PART_STORE]))
            report, head, head_hash = asyncio.run(_verify_loaded(dsn, manifest, settings))
        finally:
            infra.stop()
    here = temporal_server_version()
    notes = compatibility_problems(
        manifest,
        lentur_version=version("lentur"),
        temporal_server_version=here,
        vault_id=vault_secret_id(settings.vault_key_secret),
    )
    return {
        "ok": True,
        "created_at": manifest.created_at.isoformat(),
        "lentur_version": manifest.lentur_version,
        "events": manifest.events,
        "head": head,
        "head_hash": head_hash,
        "parts": {p.name: {"sha256": p.sha256, "size": p.size} for p in manifest.parts},
        "audit_verify": {"ok": report["ok"], "events_checked": report["events_checked"]},
        "restore_here": [f"{part}: {reason}" for part, reason in notes] or "dapat dipulihkan di mesin ini",
    }


def restore_backup(file: Path, state_dir: Path, settings: Settings, *, force: bool = False) -> Restored:
    state_dir = state_dir.resolve()
    if _stack_running(state_dir):
        raise BackupRefused(str(state_dir), "lentur up masih berjalan di sini; hentikan dulu")
    if state_dir.exists() and any(state_dir.iterdir()) and not force:
        raise BackupRefused(str(state_dir), "tidak kosong; pakai --force untuk menimpanya")
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lentur-restore-", dir=state_dir.parent) as tmp:
        manifest, files = open_archive(file, Path(tmp))
        problems = compatibility_problems(
            manifest,
            lentur_version=version("lentur"),
            temporal_server_version=temporal_server_version(),
            vault_id=vault_secret_id(settings.vault_key_secret),
        )
        if problems:
            raise BackupRefused(problems[0][0], "; ".join(f"{part}: {reason}" for part, reason in problems))
        if state_dir.exists():
            reap_leftovers(state_dir / "run")
            shutil.rmtree(state_dir)
        (state_dir / "temporal").mkdir(parents=True)
        shutil.copyfile(files[PART_TEMPORAL], state_dir / "temporal" / "temporal.db")
        if PART_CLOCK in files:
            shutil.copyfile(files[PART_CLOCK], state_dir / "clock.json")
        infra = EmbeddedInfrastructure(state_dir)
        try:
            dsn = infra.start_database_only()
            asyncio.run(_load_dump(dsn, files[PART_STORE]))
            restored = asyncio.run(_finish(dsn, manifest, settings.model_copy(update={"state_dir": state_dir})))
        finally:
            infra.stop()
    _remember_signing_key(state_dir, manifest, settings)
    return restored


def _remember_signing_key(state_dir: Path, manifest: Manifest, settings: Settings) -> None:
    """Checkpoints signed with a key that lived on the lost disk stay verifiable by its public half."""
    if manifest.audit_key is None or settings.audit_signing_key is not None:
        return
    (state_dir / TRUSTED_KEYS_FILE).write_text(manifest.audit_key.public_key + "\n")


async def _finish(dsn: str, manifest: Manifest, settings: Settings) -> Restored:
    from eventstore.db import create_pool
    from eventstore.migrate import migrate
    from services.approvals.rebuild import rebuild_read_models

    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)  # a backup of an older release gains the newer tables; no event is appended
    finally:
        await conn.close()
    report, head, head_hash = await _verify_loaded(dsn, manifest, settings)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        rebuild = await rebuild_read_models(pool)
        events = int(await pool.fetchval("SELECT count(*) FROM events WHERE position <= $1", head))
        in_flight = int(
            await pool.fetchval("SELECT count(*) FROM rm_requests WHERE status = ANY($1::text[])", list(IN_FLIGHT))
        )
    finally:
        await pool.close()
    return Restored(
        manifest=manifest,
        events=events,
        head=head,
        head_hash=head_hash,
        requests_in_flight=in_flight,
        verify=report,
        rebuild=rebuild,
    )
