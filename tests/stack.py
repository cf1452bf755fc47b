"""An in-process Lentur stack on the session's real infrastructure: API, worker and projector as tasks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from deploy.bootstrap import (
    ProjectorHandles,
    api_container,
    prepare_database,
    run_api,
    run_projector,
    run_worker,
)
from deploy.infra import InfraAddresses
from deploy.processes import free_port
from runtime.settings import Settings
from services.admin.directory import import_directory

SAMPLE_DIRECTORY = Path(__file__).resolve().parents[1] / "deploy" / "data" / "directory-sample.csv"
DEMO_NOW = datetime.fromisoformat("2025-12-22T09:00:00+08:00")


@dataclass
class RunningStack:
    settings: Settings
    base_url: str
    stop: asyncio.Event
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    projector: list[ProjectorHandles] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=60)

    async def token(self, nip: str) -> str:
        if nip not in self.tokens:
            async with self.client() as http:
                r = await http.post("/api/dev/token", json={"nip": nip})
                r.raise_for_status()
                self.tokens[nip] = r.json()["access_token"]
        return self.tokens[nip]

    async def as_user(self, nip: str) -> httpx.AsyncClient:
        client = self.client()
        client.headers["Authorization"] = f"Bearer {await self.token(nip)}"
        return client

    async def restart_worker(self) -> None:
        await self.stop_component("worker")
        await self.start_component("worker")

    async def stop_component(self, name: str) -> None:
        task = self.tasks.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def start_component(self, name: str) -> None:
        ready = asyncio.Event()
        if name == "worker":
            self.tasks[name] = asyncio.create_task(run_worker(self.settings, self.stop, ready=ready))
        elif name == "projector":
            self.tasks[name] = asyncio.create_task(
                run_projector(self.settings, self.stop, ready=ready, handles=self.projector)
            )
        await asyncio.wait_for(ready.wait(), 60)


@contextlib.asynccontextmanager
async def running_stack(
    infra: InfraAddresses,
    database_url: str,
    *,
    simulated_now: datetime | None = DEMO_NOW,
    directory: str | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningStack]:
    port = free_port()
    settings = Settings(
        env="test",
        database_url=database_url,
        temporal_address=infra.temporal_address,
        nats_url=infra.nats_url,
        task_queue=f"lentur-test-{uuid.uuid4().hex[:8]}",
        nats_stream=f"LENTUR_TEST_{uuid.uuid4().hex[:8].upper()}",
        nats_subject_prefix=f"lentur.test{uuid.uuid4().hex[:8]}",
        dev_auth=True,
        simulated_now=simulated_now,
        simulated_anchor=datetime.now().astimezone() if simulated_now else None,
        http_port=port,
        # Workflow code runs under the strict sandbox in every test, so a non-deterministic call fails CI.
        workflow_sandbox=overrides.pop("workflow_sandbox", "strict"),
        **overrides,
    )
    await prepare_database(settings)
    stack = RunningStack(settings=settings, base_url=f"http://127.0.0.1:{port}", stop=asyncio.Event())
    await stack.start_component("projector")
    await stack.start_component("worker")
    api_ready = asyncio.Event()
    stack.tasks["api"] = asyncio.create_task(run_api(settings, stack.stop, ready=api_ready))
    await asyncio.wait_for(api_ready.wait(), 60)
    async with api_container(settings) as container:
        await import_directory(container, directory or SAMPLE_DIRECTORY.read_text(), actor="system")
    try:
        yield stack
    finally:
        stack.stop.set()
        for task in stack.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 20)
