"""The outbox relay: publishes the log to JetStream in position order.

The events table is the outbox: positions are gap-free and become visible in order, so the relay only
needs a cursor. Each message carries `Nats-Msg-Id = event_id`; a crash between publish and cursor update
re-publishes, and JetStream's duplicate window drops the copy. One relay is active at a time (a session
advisory lock), so several replicas can run for availability.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from faststream.nats import JStream, NatsBroker

from contracts.canonical import canonical_json
from contracts.events import EventEnvelope
from eventstore.store import PostgresEventStore
from runtime.telemetry import RELAY_PUBLISHED, producer_span, trace_headers

log = structlog.get_logger(__name__)
_RELAY_LOCK = 7461628
EVENTS_CHANNEL = "lentur_events"
# The cursor row is written at most this often while events keep coming, and as soon as they stop. A crash
# re-publishes what was sent since: JetStream's duplicate window drops the copies and the projections skip
# what they have, so effects stay exactly-once; each write was a commit of its own per published batch.
CURSOR_SAVE_SECONDS = 1.0


def events_stream(name: str, prefix: str, duplicate_window_seconds: int, replicas: int = 1) -> JStream:
    return JStream(
        name, subjects=[f"{prefix}.>"], duplicate_window=float(duplicate_window_seconds), num_replicas=replicas
    )


def subject_for(prefix: str, event: EventEnvelope) -> str:
    category = event.stream_id.split("-", 1)[0] or "other"
    return f"{prefix}.{category}.{event.type}"


CLAIM_CHECK_HEADER = "Lentur-Claim-Check"


def message_body(event: EventEnvelope) -> bytes:
    return canonical_json(event.model_dump(mode="json")).encode()


def message_for(event: EventEnvelope, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    """The message body, or for an event too large for one message the envelope without its payload and a
    header telling consumers to read the event from the store (the store, not the message, is the record)."""
    body = message_body(event)
    if len(body) <= max_bytes:
        return body, {}
    return message_body(event.model_copy(update={"payload": {}})), {CLAIM_CHECK_HEADER: "store"}


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        store: PostgresEventStore,
        broker: NatsBroker,
        *,
        stream: JStream,
        prefix: str,
        batch_size: int = 500,
        name: str = "jetstream",
        max_message_bytes: int = 512 * 1024,
    ) -> None:
        self.dsn = dsn
        self.store = store
        self.broker = broker
        self.stream = stream
        self.prefix = prefix
        self.batch_size = batch_size
        self.name = name
        self.max_message_bytes = max_message_bytes
        self.published = 0
        self._wake = asyncio.Event()
        self.is_leader = False
        self._cursor: int | None = None  # the last position published, known while leader
        self._saved: int | None = None  # the position the cursor row holds
        self._saved_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._run_as_leader(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("relay_retry", error=str(exc))
                self.is_leader = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            except Exception as exc:  # never die quietly: projections would fall back to the slow catch-up
                log.error("relay_failed", error=repr(exc))
                self.is_leader = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5.0)

    async def _run_as_leader(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
                if stop.is_set():
                    return
            self.is_leader = True
            await conn.add_listener(EVENTS_CHANNEL, lambda *_: self._wake.set())
            await conn.execute(
                "INSERT INTO relay_cursor (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING", self.name
            )
            # Read once per term as leader: while the lock is held no one else moves it.
            self._cursor = int(await conn.fetchval("SELECT position FROM relay_cursor WHERE name = $1", self.name))
            self._saved, self._saved_at = self._cursor, time.monotonic()
            while not stop.is_set():
                self._wake.clear()
                sent = await self.publish_pending(conn)
                if sent < self.batch_size:
                    # Caught up with what was there. An append committed meanwhile has set the wake already; the
                    # one-second poll covers a notification lost with a dropped connection.
                    try:
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    except TimeoutError:
                        await self.save_cursor(conn, now=True)  # quiet: the row catches up
        finally:
            with contextlib.suppress(Exception):
                await self.save_cursor(conn, now=True)
            self.is_leader = False
            self._cursor = None
            self._saved = None
            with contextlib.suppress(Exception):
                await conn.close()

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        if self._cursor is None:
            self._cursor = int(await conn.fetchval("SELECT position FROM relay_cursor WHERE name = $1", self.name))
        events = await self.store.read_all(after=self._cursor, limit=self.batch_size)
        if not events:
            return 0
        with producer_span("publish lentur.events") as span:
            if span.is_recording():
                span.set_attribute("lentur.positions", f"{events[0].position}-{events[-1].position}")
                span.set_attribute("lentur.correlation_ids", sorted({e.correlation_id for e in events})[:20])
            traced = trace_headers()  # the batch's span, so the projector can link to it
            # One connection keeps publish order; JetStream stores them in the order they arrive.
            messages = [(event, *message_for(event, self.max_message_bytes)) for event in events]
            await asyncio.gather(
                *(
                    self.broker.publish(
                        body,
                        subject_for(self.prefix, event),
                        headers={
                            "Nats-Msg-Id": str(event.event_id),
                            "Lentur-Position": str(event.position),
                            **extra,
                            **traced,
                        },
                        stream=self.stream.name,
                        timeout=10,
                    )
                    for event, body, extra in messages
                )
            )
        self._cursor = events[-1].position
        await self.save_cursor(conn)
        self.published += len(events)
        RELAY_PUBLISHED.inc(len(events))
        return len(events)

    async def save_cursor(self, conn: asyncpg.Connection, *, now: bool = False) -> None:
        """Write the cursor row if it is behind, and (unless `now`) the last write is CURSOR_SAVE_SECONDS old."""
        if self._cursor is None or self._cursor == self._saved:
            return
        if not now and time.monotonic() - self._saved_at < CURSOR_SAVE_SECONDS:
            return
        await conn.execute("UPDATE relay_cursor SET position = $2 WHERE name = $1", self.name, self._cursor)
        self._saved, self._saved_at = self._cursor, time.monotonic()
