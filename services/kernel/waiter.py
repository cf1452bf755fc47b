"""Read-your-writes: wait until a projection has applied a given position before answering."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import asyncpg
import structlog

from eventstore.projector import PROJECTION_CHANNEL

log = structlog.get_logger(__name__)


class ProjectionWaiter:
    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self.dsn = dsn
        self.pool = pool
        self.positions: dict[str, int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        name, _, position = payload.rpartition(":")
        if position.isdigit() and int(position) > self.positions[name]:
            self.positions[name] = int(position)
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _listen_forever(self) -> None:
        while True:
            try:
                self._conn = await asyncpg.connect(self.dsn)
                await self._conn.add_listener(PROJECTION_CHANNEL, self._on_notify)
                while not self._conn.is_closed():
                    await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect; waiters fall back to polling meanwhile
                log.warning("projection_listener_retry", error=str(exc))
                await asyncio.sleep(1.0)

    async def _poll(self, name: str) -> int:
        value = await self.pool.fetchval("SELECT position FROM projection_checkpoints WHERE name = $1", name)
        position = int(value or 0)
        if position > self.positions[name]:
            self.positions[name] = position
        return self.positions[name]

    async def wait_for(self, position: int, *, name: str = "read-models", timeout: float = 10.0) -> bool:
        if self.positions[name] >= position or await self._poll(name) >= position:
            return True
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))
            if self.positions[name] >= position or await self._poll(name) >= position:
                return True
