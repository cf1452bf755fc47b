"""The backup's order against real Postgres: no append lands while Temporal's database is copied, and the
store's dump is the state at that moment — an append made after the copy is never in it. Before that, the
backup waits for the decisions in flight (the backup fence), and gives up after its bound holding nothing."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from rich.console import Console

from contracts.events import PersonalDataErased
from deploy.backup import take
from deploy.backup.manifest import BackupRefused
from deploy.backup.restore import check_backup
from eventstore.db import create_pool
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from runtime.backup_fence import FENCE_FILE, UpdateFence
from runtime.settings import Settings

pytestmark = pytest.mark.integration


def event(stream: str) -> NewEvent:
    return NewEvent.of(
        PersonalDataErased(key_ids=[], reason="uji", region="kendari"),
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=datetime(2025, 12, 30, tzinfo=UTC),
        actor="system",
        correlation_id="backup-test",
    )


async def append_one(dsn: str, *, lock_timeout_ms: int = 5000) -> int:
    pool = await create_pool(dsn, min_size=1, max_size=1, lock_timeout_ms=lock_timeout_ms)
    try:
        appended = await PostgresEventStore(pool).append(AppendUnit([event(f"test-{uuid.uuid4()}")]))
        return appended[0].position
    finally:
        await pool.close()


def in_thread(dsn: str, outcome: dict[str, object], **options: int) -> threading.Thread:
    def run() -> None:
        try:
            outcome["position"] = asyncio.run(append_one(dsn, **options))
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_appends_wait_while_temporal_is_copied_and_later_ones_stay_out_of_the_dump(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        await append_one(fresh_db)
    state = tmp_path / ".lentur"
    (state / "temporal").mkdir(parents=True)
    with sqlite3.connect(state / "temporal" / "temporal.db") as db:
        db.execute("CREATE TABLE executions (id TEXT)")
        db.execute("INSERT INTO executions VALUES ('wf-1')")
    (state / "stack.json").write_text(json.dumps({"database_url": fresh_db}))

    during: dict[str, object] = {}
    after: dict[str, object] = {}
    threads: list[threading.Thread] = []
    copy = take.copy_sqlite

    def copy_while_others_append(source: Path, target: Path) -> None:
        # An append during the copy cannot get the store's lock: it gives up after its lock timeout.
        in_thread(fresh_db, during, lock_timeout_ms=200).join()
        copy(source, target)
        # This one waits for the lock and lands after the copy, before or during pg_dump.
        threads.append(in_thread(fresh_db, after))

    monkeypatch.setattr(take, "copy_sqlite", copy_while_others_append)
    result = await asyncio.to_thread(
        take.take_backup, tmp_path / "cadangan.tar", state, Settings(state_dir=state), Console(file=None, quiet=True)
    )
    for thread in threads:
        thread.join()

    assert isinstance(during.get("error"), asyncpg.LockNotAvailableError), during
    assert result.manifest.store_head == 5 and result.manifest.events == 5
    assert after.get("position") == 6, after
    checked = await asyncio.to_thread(check_backup, tmp_path / "cadangan.tar", Settings())
    assert checked["head"] == 5 and checked["audit_verify"]["ok"]


async def test_a_backup_waits_for_a_decision_in_flight_and_gives_up_after_its_bound(
    fresh_db: str, tmp_path: Path
) -> None:
    await append_one(fresh_db)
    state = tmp_path / ".lentur"
    (state / "temporal").mkdir(parents=True)
    with sqlite3.connect(state / "temporal" / "temporal.db") as db:
        db.execute("CREATE TABLE executions (id TEXT)")
    (state / "stack.json").write_text(json.dumps({"database_url": fresh_db}))
    fence = UpdateFence(state)
    quiet = Console(file=None, quiet=True)

    async with fence.update():  # a decision the API sent, not yet completed
        with pytest.raises(BackupRefused) as refused:
            await asyncio.to_thread(
                take.take_backup, tmp_path / "cadangan.tar", state, Settings(state_dir=state), quiet, fence_timeout=0.5
            )
        assert "keputusan yang sedang berjalan" in refused.value.reason
        assert refused.value.part == str(state / FENCE_FILE)
        # It let go of everything: appends and the next decision go through at once.
        assert await append_one(fresh_db, lock_timeout_ms=200) == 2
        async with fence.update():
            assert fence.in_flight == 2
    assert not (tmp_path / "cadangan.tar").exists()

    result = await asyncio.to_thread(
        take.take_backup, tmp_path / "cadangan.tar", state, Settings(state_dir=state), quiet, fence_timeout=0.5
    )
    assert result.manifest.store_head == 2
