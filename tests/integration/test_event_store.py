"""The event store against real Postgres: concurrency, idempotency, ordering, append-only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from eventstore.chain import chain_hash, content_hash, event_hash
from eventstore.store import (
    NO_STREAM,
    AppendUnit,
    ConcurrencyError,
    IdempotencyConflict,
    NewEvent,
    PostgresEventStore,
)

pytestmark = pytest.mark.integration


def new_event(stream: str, n: int = 0, *, event_id: uuid.UUID | None = None, payload: dict | None = None) -> NewEvent:
    return NewEvent(
        event_id=event_id or uuid.uuid4(),
        stream_id=stream,
        type="Something",
        schema_version=1,
        payload=payload if payload is not None else {"n": n, "text": "Kerja dari rumah ✓", "ratio": 0.1},
        occurred_at=datetime(2025, 12, 22, 1, 0, n % 60, 123456, tzinfo=UTC),
        actor="199003132015021001",
        correlation_id="corr-1",
    )


async def test_append_then_read_back_with_verifiable_hashes(store: PostgresEventStore) -> None:
    first = await store.append(AppendUnit([new_event("s-1", 1), new_event("s-1", 2)], {"s-1": NO_STREAM}))
    assert [a.version for a in first] == [1, 2]
    assert [a.position for a in first] == [1, 2]
    events = await store.read_stream("s-1")
    previous_chain = None
    previous_hash = None
    for event in events:
        fields = event.model_dump(mode="json")
        assert content_hash(fields) == event.content_hash
        assert event.prev_hash == previous_hash
        assert event.recorded_at is not None
        expected = event_hash(
            previous_hash,
            event.content_hash,
            event.stream_id,
            event.version,
            event.position,
            event.recorded_at,
        )
        assert event.hash == expected
        assert event.chain_hash == chain_hash(previous_chain, event.hash, event.position)
        previous_hash, previous_chain = event.hash, event.chain_hash


async def test_concurrent_appends_to_one_stream_exactly_one_wins(store: PostgresEventStore) -> None:
    await store.append(AppendUnit([new_event("contended")], {"contended": NO_STREAM}))

    async def writer(i: int) -> str:
        try:
            await store.append(AppendUnit([new_event("contended", i)], {"contended": 1}))
            return "won"
        except ConcurrencyError:
            return "conflict"

    results = await asyncio.gather(*(writer(i) for i in range(12)))
    assert results.count("won") == 1
    assert results.count("conflict") == 11
    assert await store.stream_version("contended") == 2


async def test_concurrent_appends_from_separate_pools_exactly_one_wins(fresh_db: str) -> None:
    # Separate pools behave like separate processes: the batching inside one store cannot help here.
    from eventstore.db import create_pool

    pools = [await create_pool(fresh_db, min_size=1, max_size=2) for _ in range(6)]
    stores = [PostgresEventStore(p) for p in pools]
    try:
        await stores[0].append(AppendUnit([new_event("x")], {"x": NO_STREAM}))

        async def writer(s: PostgresEventStore, i: int) -> bool:
            try:
                await s.append(AppendUnit([new_event("x", i)], {"x": 1}))
                return True
            except ConcurrencyError:
                return False

        wins = await asyncio.gather(*(writer(s, i) for i, s in enumerate(stores)))
        assert sum(wins) == 1
    finally:
        for p in pools:
            await p.close()


async def test_reappending_the_same_event_is_a_no_op(store: PostgresEventStore) -> None:
    event = new_event("idem", 1)
    first = await store.append(AppendUnit([event], {"idem": NO_STREAM}))
    again = await store.append(AppendUnit([event], {"idem": NO_STREAM}))
    assert again[0].duplicate and again[0].position == first[0].position
    assert len(await store.read_stream("idem")) == 1


async def test_same_event_id_with_different_content_is_refused(store: PostgresEventStore) -> None:
    event_id = uuid.uuid4()
    await store.append(AppendUnit([new_event("idem2", 1, event_id=event_id)]))
    with pytest.raises(IdempotencyConflict):
        await store.append(AppendUnit([new_event("idem2", 2, event_id=event_id)]))


async def test_a_failing_unit_does_not_fail_its_batch_neighbours(store: PostgresEventStore) -> None:
    await store.append(AppendUnit([new_event("a")], {"a": NO_STREAM}))
    results = await asyncio.gather(
        store.append(AppendUnit([new_event("a", 2)], {"a": 5})),
        store.append(AppendUnit([new_event("b", 1)], {"b": NO_STREAM})),
        return_exceptions=True,
    )
    assert isinstance(results[0], ConcurrencyError)
    assert not isinstance(results[1], Exception)
    assert await store.stream_version("b") == 1
    assert await store.stream_version("a") == 1


async def test_multi_stream_unit_is_all_or_nothing(store: PostgresEventStore) -> None:
    await store.append(AppendUnit([new_event("quota")], {"quota": NO_STREAM}))
    with pytest.raises(ConcurrencyError):
        await store.append(
            AppendUnit([new_event("req"), new_event("quota", 1)], {"req": NO_STREAM, "quota": NO_STREAM})
        )
    assert await store.stream_version("req") == 0


async def test_eight_writers_many_streams_gap_free_positions_each_seen_once(fresh_db: str) -> None:
    from eventstore.db import create_pool

    pools = [await create_pool(fresh_db, min_size=1, max_size=3) for _ in range(8)]
    stores = [PostgresEventStore(p) for p in pools]
    per_writer = 60
    seen: list[int] = []
    stop = asyncio.Event()

    async def follower() -> None:
        # Follows the log the way a projection does: only ever asks for what comes after its last position.
        position = 0
        while True:
            batch = await stores[0].read_all(after=position, limit=50)
            for event in batch:
                seen.append(event.position)
                position = event.position
            if not batch:
                if stop.is_set():
                    return
                await asyncio.sleep(0.005)

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await stores[w].append(AppendUnit([new_event(f"w{w}-s{i % 7}", i)]))

    try:
        follow = asyncio.create_task(follower())
        await asyncio.gather(*(writer(w) for w in range(8)))
        stop.set()
        await follow
        total = 8 * per_writer
        assert seen == list(range(1, total + 1))
        rows = await pools[0].fetch("SELECT position FROM events ORDER BY position")
        assert [r["position"] for r in rows] == list(range(1, total + 1))
    finally:
        for p in pools:
            await p.close()


async def test_events_table_refuses_update_and_delete(store: PostgresEventStore) -> None:
    await store.append(AppendUnit([new_event("locked")]))
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE events SET actor = 'someone else'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM events")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE events")


async def test_a_pooled_connection_returns_without_an_open_transaction_or_its_lock(fresh_db: str) -> None:
    """Pooled connections are handed on without asyncpg's reset query: what a user left open must not leak."""
    from eventstore.db import create_pool

    pool = await create_pool(fresh_db, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")
            await conn.execute("SELECT pg_advisory_xact_lock(4242)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
            assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await pool.close()
