"""The backup fence with real file locks, real processes and the real Temporal dev server.

An Update in flight keeps a backup from copying; an Update that starts while a backup holds the intent waits for
it; a backup that cannot get the fence in time gives up holding nothing; a backup killed with SIGKILL holds
nothing either; an Update cancelled while it waits leaves nothing held; and through the Temporal client of a
`lentur up` process, the fence covers an Update until its outcome is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from deploy.infra import InfraAddresses
from runtime.backup_fence import FENCE_FILE, INTENT_FILE, FencedUpdates, FenceUnavailable, UpdateFence, backup_hold
from runtime.settings import Settings
from runtime.telemetry import temporal_interceptors
from tests.eventually import eventually

pytestmark = pytest.mark.integration

# `lentur backup`'s side of the fence in a process of its own: holds the intent and the fence until told to let
# go on stdin, saying "held" once it has both.
BACKUP = """
import asyncio, sys
from pathlib import Path
from runtime.backup_fence import backup_hold

async def main() -> None:
    async with backup_hold(Path(sys.argv[1]), timeout=float(sys.argv[2])):
        print("held", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    print("released", flush=True)

asyncio.run(main())
"""


class BackupProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def said(self) -> str:
        assert self.proc.stdout is not None
        return (await self.proc.stdout.readline()).decode().strip()

    async def let_go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        await self.proc.stdin.drain()
        assert await self.said() == "released"
        assert await self.proc.wait() == 0


@contextlib.asynccontextmanager
async def backup_process(directory: Path, timeout: float = 300) -> AsyncIterator[BackupProcess]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BACKUP,
        str(directory),
        str(timeout),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        yield BackupProcess(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def held_elsewhere(path: Path, operation: int = fcntl.LOCK_SH) -> bool:
    """Whether another holder keeps `operation` on this lock file from being granted (a lock of our own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


async def still_waiting(task: asyncio.Task[None]) -> bool:
    """The task has not got through after a while of trying (it is waiting for the other side)."""
    done, _ = await asyncio.wait({task}, timeout=0.5)
    return not done


async def enter_and_hold(fence: UpdateFence, release: asyncio.Event) -> None:
    async with fence.update():
        await release.wait()


async def test_an_update_in_flight_holds_the_backup_back_and_a_new_one_waits_for_the_backup(tmp_path: Path) -> None:
    fence = UpdateFence(tmp_path)
    first_done, second_done = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(enter_and_hold(fence, first_done))
    await eventually(lambda: fence.held, 60, what="the first update holds the fence", poll=0.02)
    assert held_elsewhere(tmp_path / FENCE_FILE, fcntl.LOCK_EX)

    async with backup_process(tmp_path) as backup:
        said = asyncio.create_task(backup.said())
        await eventually(
            lambda: held_elsewhere(tmp_path / INTENT_FILE), 60, what="the backup holds the intent", poll=0.02
        )
        # The backup waits for the update in flight; a new update waits for the backup.
        second = asyncio.create_task(enter_and_hold(fence, second_done))
        assert await still_waiting(second)
        assert not said.done() and fence.in_flight == 1

        first_done.set()
        await first
        assert await said == "held"
        assert not fence.held and await still_waiting(second)

        await backup.let_go()
        await eventually(
            lambda: fence.held and fence.in_flight == 1, 60, what="the second update got through", poll=0.02
        )
        second_done.set()
        await second
    assert not fence.held and fence.in_flight == 0
    assert not held_elsewhere(tmp_path / FENCE_FILE, fcntl.LOCK_EX)


async def test_a_backup_that_cannot_get_the_fence_in_time_gives_up_holding_nothing(tmp_path: Path) -> None:
    fence = UpdateFence(tmp_path)
    release = asyncio.Event()
    in_flight = asyncio.create_task(enter_and_hold(fence, release))
    await eventually(lambda: fence.held, 60, what="the update holds the fence", poll=0.02)

    with pytest.raises(FenceUnavailable) as refused:
        async with backup_hold(tmp_path, timeout=0.5):
            pytest.fail("the backup got the fence while an update was in flight")
    assert refused.value.path.name == FENCE_FILE
    assert not held_elsewhere(tmp_path / INTENT_FILE)
    # Another update goes through at once: the backup left the intent behind.
    async with fence.update():
        assert fence.in_flight == 2

    release.set()
    await in_flight
    async with backup_hold(tmp_path, timeout=30):
        assert held_elsewhere(tmp_path / INTENT_FILE) and held_elsewhere(tmp_path / FENCE_FILE)


async def test_a_second_backup_waits_for_the_first_and_gives_up_in_time(tmp_path: Path) -> None:
    async with backup_process(tmp_path) as first:
        assert await first.said() == "held"
        with pytest.raises(FenceUnavailable) as refused:
            async with backup_hold(tmp_path, timeout=0.5):
                pytest.fail("two backups held the fence at once")
        assert refused.value.path.name == INTENT_FILE
        await first.let_go()


async def test_a_backup_killed_while_it_holds_the_fence_holds_nothing_after(tmp_path: Path) -> None:
    fence = UpdateFence(tmp_path)
    release = asyncio.Event()
    async with backup_process(tmp_path) as backup:
        assert await backup.said() == "held"
        waiting = asyncio.create_task(enter_and_hold(fence, release))
        assert await still_waiting(waiting)
        backup.proc.send_signal(signal.SIGKILL)
        assert await backup.proc.wait() == -signal.SIGKILL
        await eventually(lambda: fence.held, 60, what="the update got through once the backup was gone", poll=0.02)
    release.set()
    await waiting
    async with backup_hold(tmp_path, timeout=30):
        pass


async def test_an_update_cancelled_while_it_waits_leaves_nothing_held(tmp_path: Path) -> None:
    fence = UpdateFence(tmp_path)
    # Waiting at the intent: a backup is running.
    async with backup_process(tmp_path) as backup:
        assert await backup.said() == "held"
        at_intent = asyncio.create_task(enter_and_hold(fence, asyncio.Event()))
        assert await still_waiting(at_intent)
        at_intent.cancel()
        with pytest.raises(asyncio.CancelledError):
            await at_intent
        assert fence.in_flight == 0 and not fence.held
        await backup.let_go()

    # Waiting for the fence itself: a backup took it between the update's look at the intent and its own lock
    # (here: a process that holds only the fence).
    holder = os.open(tmp_path / FENCE_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        at_fence = asyncio.create_task(enter_and_hold(fence, asyncio.Event()))
        assert await still_waiting(at_fence)
        at_fence.cancel()
        with pytest.raises(asyncio.CancelledError):
            await at_fence
        assert fence.in_flight == 0
    finally:
        os.close(holder)
    # The lock its waiting thread gets once the holder is gone is given back: no update is in flight.
    await eventually(lambda: fence.idle, 60, what="the thread taking the fence finished", poll=0.02)
    assert not fence.held and not held_elsewhere(tmp_path / FENCE_FILE, fcntl.LOCK_EX)


def test_only_a_stack_with_a_fence_directory_fences_its_updates(tmp_path: Path) -> None:
    assert not [i for i in temporal_interceptors(Settings()) if isinstance(i, FencedUpdates)]
    fenced = [i for i in temporal_interceptors(Settings(backup_fence_dir=tmp_path)) if isinstance(i, FencedUpdates)]
    assert len(fenced) == 1 and fenced[0].fence.directory == tmp_path
    assert not (tmp_path / FENCE_FILE).exists()  # nothing is opened before the first Update


@workflow.defn(name="FenceProbe", sandboxed=False)
class FenceProbe:
    """An Update whose handler goes on until a signal lets it finish, like a decision whose append is slow."""

    def __init__(self) -> None:
        self.handling = False
        self.finish = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.finish and workflow.all_handlers_finished())

    @workflow.update
    async def decide(self) -> str:
        self.handling = True
        await workflow.wait_condition(lambda: self.finish)
        return "recorded"

    @workflow.signal
    def let_finish(self) -> None:
        self.finish = True

    @workflow.query
    def in_handler(self) -> bool:
        return self.handling


@pytest.mark.parametrize("with_start", [False, True], ids=["update", "update-with-start"])
async def test_the_api_client_holds_the_fence_until_the_update_outcome_is_back(
    infra: InfraAddresses, tmp_path: Path, with_start: bool
) -> None:
    """A decision (an Update on a running workflow) and a submission (an Update that starts its workflow)."""
    queue = f"fence-{uuid.uuid4().hex[:8]}"
    worker_client = await Client.connect(infra.temporal_address)
    api_client = await Client.connect(
        infra.temporal_address, interceptors=temporal_interceptors(Settings(backup_fence_dir=tmp_path))
    )
    worker = Worker(
        worker_client, task_queue=queue, workflows=[FenceProbe], workflow_runner=UnsandboxedWorkflowRunner()
    )
    async with worker:
        workflow_id = f"fence-probe-{queue}"
        if with_start:
            start = WithStartWorkflowOperation(
                FenceProbe.run, id=workflow_id, task_queue=queue, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
            )
            sent = api_client.execute_update_with_start_workflow(FenceProbe.decide, start_workflow_operation=start)
        else:
            await worker_client.start_workflow(FenceProbe.run, id=workflow_id, task_queue=queue)
            sent = api_client.get_workflow_handle(workflow_id).execute_update(FenceProbe.decide)
        update = asyncio.create_task(sent)
        handle = worker_client.get_workflow_handle(workflow_id)

        async def in_handler() -> bool:
            try:
                return bool(await handle.query(FenceProbe.in_handler))
            except RPCError:  # not started yet
                return False

        await eventually(in_handler, 60, what="the update reached its handler", poll=0.02)
        async with backup_process(tmp_path, timeout=1) as backup:
            # The backup cannot copy while the update is in flight, and gives up after its bound.
            assert await backup.said() == ""
            assert await backup.proc.wait() != 0
        assert not update.done()

        await handle.signal(FenceProbe.let_finish)
        assert await update == "recorded"
        async with backup_process(tmp_path) as backup:
            assert await backup.said() == "held"
            await backup.let_go()
        await handle.result()
