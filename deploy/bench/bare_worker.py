"""The bare ceiling's worker process: `python -m deploy.bench.bare_worker ADDRESS TASK_QUEUE`; prints "ready"."""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from deploy.bench.bare import BareApproval
from runtime import loop as event_loop
from runtime.settings import Settings
from workflows.worker import POLLERS, sandbox_bytecode, workflow_runner


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The same sandbox mode and bytecode cache as Lentur's worker (see workflow_runner, sandbox_bytecode), so
    # both run workflow code at the same cost.
    mode = Settings().workflow_sandbox
    runner = workflow_runner(mode)
    with sandbox_bytecode([BareApproval], mode=mode):
        # Polled like Lentur's worker (POLLERS): with the SDK's defaults new workflows queue behind one poll.
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[BareApproval],
            workflow_runner=runner,
            max_concurrent_workflow_tasks=200,
            **POLLERS,
        ):
            print("ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    # The same event loop as Lentur's worker, so the ceiling is not lowered by a slower loop.
    event_loop.run(serve(sys.argv[1], sys.argv[2]))
