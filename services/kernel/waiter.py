"""Read-your-writes: wait until a projection has applied a given position before answering.

The projector NOTIFYs each applied batch at its commit; one listening connection per process hears them and
wakes exactly the callers whose position is now applied. While that connection is listening, a caller asks
the database nothing: the position it waits for is at or after its own append, so the notification that
makes it visible arrives after the wait began. Only a wait that outlasts a slice (a notification lost with a
dropped connection) or a wait while the listener is down reads the checkpoint row.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import defaultdict

import asyncpg
import structlog

from eventstore.projector import PROJECTION_CHANNEL

log = structlog.get_logger(__name__)
POLL_SLICE_SECONDS = 0.25


class ProjectionWaiter:
    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self.dsn = dsn
        self.pool = pool
        self.positions: dict[str, int] = defaultdict(int)
        self.polls = 0  # checkpoint reads, for the tests and the bench
        self._waiting: dict[str, list[tuple[int, int, asyncio.Future[None]]]] = defaultdict(list)
        self._order = itertools.count()
        self._listening = False
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._listening and self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._listening = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        name, _, position = payload.rpartition(":")
        if position.isdigit():
            self._advance(name, int(position))

    def _advance(self, name: str, position: int) -> None:
        if position <= self.positions[name]:
            return
        self.positions[name] = position
        waiting = self._waiting[name]
        while waiting and waiting[0][0] <= position:
            _, _, future = heapq.heappop(waiting)
            if not future.done():
                future.set_result(None)

    async def _listen_forever(self) -> None:
        while True:
            try:
                self._conn = await asyncpg.connect(self.dsn)
                await self._conn.add_listener(PROJECTION_CHANNEL, self._on_notify)
                # Batches applied before the LISTEN took effect were not heard: read them once.
                for row in await self._conn.fetch("SELECT name, position FROM projection_checkpoints"):
                    self._advance(row["name"], int(row["position"]))
                self._listening = True
                while not self._conn.is_closed():
                    await asyncio.sleep(1.0)
                self._listening = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect; waiters fall back to polling meanwhile
                self._listening = False
                log.warning("projection_listener_retry", error=str(exc))
                await asyncio.sleep(1.0)

    async def _poll(self, name: str) -> int:
        self.polls += 1
        value = await self.pool.fetchval("SELECT position FROM projection_checkpoints WHERE name = $1", name)
        self._advance(name, int(value or 0))
        return self.positions[name]

    async def wait_for(self, position: int, *, name: str = "read-models", timeout: float = 10.0) -> bool:
        if self.positions[name] >= position:
            return True
        if not self.listening and await self._poll(name) >= position:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiting[name], (position, next(self._order), future))
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                await asyncio.wait({future}, timeout=min(remaining, POLL_SLICE_SECONDS))  # never cancels it
                if future.done() or self.positions[name] >= position or await self._poll(name) >= position:
                    return True
        finally:
            if not future.done():
                future.cancel()  # left in the heap; dropped when a later position passes it
