"""The projection runner against a real Postgres: exactly-once effects, and a projection that acts on a few
event types passes over the rest with its checkpoint alone, never over an event it would have acted on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.events import EventEnvelope
from eventstore.projector import PROJECTION_CHANNEL, ProjectionRunner
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore


class Counting:
    """Records every event it is asked to apply; acts on 'Wanted' only."""

    name = "counting"
    consumes = frozenset({"Wanted"})

    def __init__(self) -> None:
        self.applied: list[int] = []

    async def apply_batch(self, conn: Any, events: list[EventEnvelope]) -> None:
        self.applied.extend(e.position for e in events if e.type in self.consumes)


async def append(store: PostgresEventStore, *types: str) -> list[EventEnvelope]:
    for type_ in types:
        await store.append(
            AppendUnit(
                [
                    NewEvent(
                        event_id=uuid.uuid4(),
                        stream_id=f"s-{uuid.uuid4().hex[:8]}",
                        type=type_,
                        schema_version=1,
                        payload={},
                        occurred_at=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
                        actor="199003132015021001",
                        correlation_id="c",
                    )
                ]
            )
        )
    return await store.read_all(after=0, limit=1000)


async def checkpoint_of(store: PostgresEventStore, name: str) -> int:
    return int(await store.pool.fetchval("SELECT position FROM projection_checkpoints WHERE name = $1", name) or 0)


async def test_a_batch_of_events_it_does_not_act_on_moves_only_its_checkpoint_and_says_so(
    store: PostgresEventStore, fresh_db: str
) -> None:
    events = await append(store, "Wanted", "Other", "Other", "Other")
    projection = Counting()
    runner = ProjectionRunner(store.pool, store, projection)
    told: list[str] = []
    listener = await asyncpg.connect(fresh_db)
    await listener.add_listener(PROJECTION_CHANNEL, lambda *args: told.append(args[-1]))
    try:
        assert await runner.deliver(events[:1]) == 1
        assert await runner.deliver(events[1:]) == 4
        assert await checkpoint_of(store, "counting") == 4
        assert projection.applied == [1]
        assert await runner.deliver(events[1:]) == 4  # delivered again: nothing happens
        assert await runner.deliver(events[2:]) == 4
        assert projection.applied == [1] and runner.duplicates_skipped == 5
        for _ in range(50):
            if "counting:4" in told:
                break
            await asyncio.sleep(0.05)
        assert told == ["counting:1", "counting:4"]
    finally:
        await listener.close()


async def test_a_hole_before_such_a_batch_is_filled_and_what_it_hid_is_applied(store: PostgresEventStore) -> None:
    events = await append(store, "Other", "Wanted", "Other", "Other")
    projection = Counting()
    runner = ProjectionRunner(store.pool, store, projection)
    # Positions 1 and 2 never arrived (a lost delivery); 3 and 4 alone would look like nothing to do.
    assert await runner.deliver(events[2:]) == 4
    assert projection.applied == [2]
    assert runner.gaps_filled == 2
    assert await checkpoint_of(store, "counting") == 4


async def test_a_batch_that_overlaps_the_checkpoint_moves_it_to_the_batch_end(store: PostgresEventStore) -> None:
    events = await append(store, "Other", "Other", "Other", "Other", "Other")
    projection = Counting()
    runner = ProjectionRunner(store.pool, store, projection)
    assert await runner.deliver(events[:3]) == 3
    assert await runner.deliver(events[1:]) == 5  # 2 and 3 again, then 4 and 5
    assert await checkpoint_of(store, "counting") == 5 and projection.applied == []


class Recording:
    """Writes each event it applies into a table, in the runner's transaction (so a rollback undoes it)."""

    name = "recording"

    async def apply_batch(self, conn: Any, events: list[EventEnvelope]) -> None:
        await conn.executemany("INSERT INTO applied_once (position) VALUES ($1)", [(e.position,) for e in events])


async def test_a_replica_that_moved_the_checkpoint_meanwhile_is_never_applied_over_again(
    store: PostgresEventStore,
) -> None:
    await store.pool.execute("CREATE TABLE applied_once (position bigint NOT NULL)")
    events = await append(store, "A", "B", "C", "D", "E")
    first, second = (ProjectionRunner(store.pool, store, Recording()) for _ in range(2))
    assert await first.deliver(events[:2]) == 2  # `first` now remembers position 2
    assert await second.deliver(events[2:4]) == 4  # another replica applies 3 and 4
    # `first` is handed 3 to 5: its memory is stale, the checkpoint's compare-and-set says so, it rolls back
    # and applies 5 alone from where the row stands.
    assert await first.deliver(events[2:]) == 5
    assert first.conflicts == 1
    counts = await store.pool.fetch("SELECT position, count(*) AS n FROM applied_once GROUP BY position ORDER BY 1")
    assert [(r["position"], r["n"]) for r in counts] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
    # Delivered again to the replica that is behind: it learns the position and applies nothing.
    assert await second.deliver(events[3:]) == 5
    assert await store.pool.fetchval("SELECT count(*) FROM applied_once") == 5
