"""Read-your-writes against a real Postgres and projector runner: a caller waiting for its position is woken
by the projector's commit, without reading the checkpoint while the listener is up, and still gets its
answer when the notification never reaches it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.events import EventEnvelope
from eventstore.projector import ProjectionRunner
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from services.kernel.waiter import ProjectionWaiter


class Recording:
    name = "read-models"

    def __init__(self) -> None:
        self.applied: list[int] = []

    async def apply_batch(self, conn: Any, events: list[EventEnvelope]) -> None:
        self.applied.extend(e.position for e in events)


async def append_one(store: PostgresEventStore) -> int:
    appended = await store.append(
        AppendUnit(
            [
                NewEvent(
                    event_id=uuid.uuid4(),
                    stream_id=f"s-{uuid.uuid4().hex[:8]}",
                    type="Wanted",
                    schema_version=1,
                    payload={},
                    occurred_at=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
                    actor="199003132015021001",
                    correlation_id="c",
                )
            ]
        )
    )
    return appended[0].position


async def listening(waiter: ProjectionWaiter) -> None:
    while not waiter.listening:
        await asyncio.sleep(0.01)


async def test_a_wait_is_answered_by_the_projectors_commit_without_reading_the_checkpoint(
    store: PostgresEventStore, fresh_db: str
) -> None:
    runner = ProjectionRunner(store.pool, store, Recording())
    await runner.catch_up()  # the checkpoint row exists
    waiter = ProjectionWaiter(fresh_db, store.pool)
    await waiter.start()
    try:
        await asyncio.wait_for(listening(waiter), 30)
        positions = [await append_one(store) for _ in range(3)]
        waits = [asyncio.create_task(waiter.wait_for(p, timeout=30)) for p in positions]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waits)  # nothing applied yet
        await runner.catch_up()
        assert await asyncio.gather(*waits) == [True, True, True]
        assert waiter.polls == 0
        assert await waiter.wait_for(positions[-1], timeout=1)  # already seen: answered at once
    finally:
        await waiter.stop()


async def test_a_lost_notification_is_made_up_by_reading_the_checkpoint(
    store: PostgresEventStore, fresh_db: str
) -> None:
    runner = ProjectionRunner(store.pool, store, Recording())
    await runner.catch_up()
    waiter = ProjectionWaiter(fresh_db, store.pool)
    await waiter.start()
    try:
        await asyncio.wait_for(listening(waiter), 30)
        assert waiter._conn is not None
        await waiter._conn.remove_listener("lentur_projection", waiter._on_notify)  # every notification lost
        position = await append_one(store)
        await runner.catch_up()
        assert await waiter.wait_for(position, timeout=30)
        assert waiter.polls >= 1
        assert not await waiter.wait_for(position + 1, timeout=0.3)  # never applied: the caller hears so
    finally:
        await waiter.stop()


async def test_without_a_listener_the_first_read_answers(store: PostgresEventStore, fresh_db: str) -> None:
    runner = ProjectionRunner(store.pool, store, Recording())
    position = await append_one(store)
    await runner.catch_up()
    waiter = ProjectionWaiter(fresh_db, store.pool)  # not started: nothing is heard
    assert await waiter.wait_for(position, timeout=5)
    assert waiter.polls == 1
