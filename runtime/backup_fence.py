"""The backup fence: `lentur backup` copies Temporal's database only when no Update is between its append and
its completion.

A decision is a Temporal Update. Its handler appends events to the store, and Temporal writes the Update into
the workflow's history only when that workflow task completes; a copy of Temporal taken in between restores the
decision in the store but not in the workflow (docs/BACKUP.md, "The backup fence"). On the one-machine stack
two lock files under the state directory close that gap, with `flock(2)` (released by the kernel when a
process dies, however it dies):

- the *fence*: every process that sends Updates holds it shared while at least one of its Updates is in flight,
  from before the request to the server until the Update's outcome is back; `lentur backup` takes it
  exclusively, so it waits until the Updates in flight have completed;
- the *intent*: `lentur backup` takes it exclusively before the fence; an Update about to start looks at it
  first and waits while a backup holds it, so the fence drains instead of being renewed by new Updates.

Per process one counter and one lock: the first Update in flight takes the fence, the last one releases it. On
the path of every Update that costs a few `flock` calls and no I/O beyond them; nothing happens at import, and
the files are opened on the first Update.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import temporalio.client

INTENT_FILE = "backup-intent.lock"
FENCE_FILE = "backup-fence.lock"
POLL_SECONDS = 0.01


class FenceUnavailable(Exception):
    """The backup could not take the fence in time; `waiting_for` says what held it."""

    def __init__(self, path: Path, waiting_for: str, seconds: float) -> None:
        super().__init__(f"{path}: {waiting_for} after {seconds:.0f} s")
        self.path = path
        self.waiting_for = waiting_for
        self.seconds = seconds


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _try_lock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_until_free(fd: int) -> None:
    """Blocks (in a thread) until no backup holds the intent; takes nothing."""
    fcntl.flock(fd, fcntl.LOCK_SH)
    fcntl.flock(fd, fcntl.LOCK_UN)


class UpdateFence:
    """This process's share of the fence: held while any of its Updates is in flight."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._files: tuple[int, int] | None = None
        self._in_flight = 0
        self._held = False
        self._taking: asyncio.Future[None] | None = None
        self._backup_done: asyncio.Future[None] | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def held(self) -> bool:
        return self._held

    @property
    def idle(self) -> bool:
        """No Update in flight, and no thread still taking the fence for one."""
        return self._in_flight == 0 and self._taking is None

    @contextlib.asynccontextmanager
    async def update(self) -> AsyncIterator[None]:
        """Around one Update, from before its request until its outcome (or its failure) is back."""
        await self._enter()
        try:
            yield
        finally:
            self._leave()

    def _open_files(self) -> tuple[int, int]:
        if self._files is None:
            self._files = (_open(self.directory / INTENT_FILE), _open(self.directory / FENCE_FILE))
        return self._files

    async def _enter(self) -> None:
        intent, fence = self._open_files()
        while not _try_lock(intent, fcntl.LOCK_SH):
            # A backup holds the intent: wait for it, without holding the loop, then look again.
            await asyncio.shield(self._until_backup_done(intent))
        fcntl.flock(intent, fcntl.LOCK_UN)
        self._in_flight += 1
        try:
            if self._held:
                return
            if self._taking is None and _try_lock(fence, fcntl.LOCK_SH):
                self._held = True
                return
            if self._taking is None:
                # The backup took the fence between our look at the intent and now: wait until it lets go.
                self._taking = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fence, fcntl.LOCK_SH))
                self._taking.add_done_callback(self._taken)
            await asyncio.shield(self._taking)
        except BaseException:
            self._leave()
            raise

    def _until_backup_done(self, intent: int) -> asyncio.Future[None]:
        """One thread per process waits for the backup, however many Updates wait for it."""
        if self._backup_done is None or self._backup_done.done():
            self._backup_done = asyncio.ensure_future(asyncio.to_thread(_wait_until_free, intent))
            self._backup_done.add_done_callback(_consume_outcome)
        return self._backup_done

    def _taken(self, taking: asyncio.Future[None]) -> None:
        # Runs before the waiters resume: the lock is ours, or the waiters see the error.
        self._taking = None
        if taking.cancelled() or taking.exception() is not None:
            return
        self._held = True
        if self._in_flight == 0:  # everyone who waited for it was cancelled meanwhile
            self._release()

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._held:
            self._release()

    def _release(self) -> None:
        self._held = False
        if self._files is not None:
            fcntl.flock(self._files[1], fcntl.LOCK_UN)


def _consume_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class _FencedUpdates(temporalio.client.OutboundInterceptor):
    """Every Update this client sends, inside the fence. Lentur sends them with `execute_update` (and
    `execute_update_with_start_workflow`), which wait for COMPLETED inside these calls: the SDK polls for the
    outcome before it returns the handle, so the fence covers the Update until its outcome is durable. (An
    Update sent with `start_update`, waiting only until ACCEPTED, would be covered only that far; Lentur sends
    none.)"""

    def __init__(self, next: temporalio.client.OutboundInterceptor, fence: UpdateFence) -> None:
        super().__init__(next)
        self.fence = fence

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        async with self.fence.update():
            return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(self, input: temporalio.client.StartWorkflowUpdateWithStartInput) -> Any:
        async with self.fence.update():
            return await super().start_update_with_start_workflow(input)


class FencedUpdates(temporalio.client.Interceptor):
    """The client side of the fence, for the processes of one machine's stack that send Updates."""

    def __init__(self, directory: Path) -> None:
        self.fence = UpdateFence(directory)

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _FencedUpdates(next, self.fence)


async def _take_exclusive(fd: int, path: Path, deadline: float, waiting_for: str, timeout: float) -> None:
    while not _try_lock(fd, fcntl.LOCK_EX):
        if time.monotonic() >= deadline:
            raise FenceUnavailable(path, waiting_for, timeout)
        await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def backup_hold(directory: Path, *, timeout: float) -> AsyncIterator[None]:
    """The backup's side: the intent, then the fence, both exclusive, until the block ends.

    Raises FenceUnavailable, holding nothing, when either is not free within `timeout` seconds (another backup
    runs, or an Update does not complete).
    """
    directory = Path(directory)
    deadline = time.monotonic() + timeout
    intent = _open(directory / INTENT_FILE)
    fence = -1
    try:
        await _take_exclusive(intent, directory / INTENT_FILE, deadline, "another backup", timeout)
        fence = _open(directory / FENCE_FILE)
        await _take_exclusive(fence, directory / FENCE_FILE, deadline, "updates in flight", timeout)
        yield
    finally:
        # Closing the files releases their locks; unlocking first says so.
        for fd in (fence, intent):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
