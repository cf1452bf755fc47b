"""The composition root: the one place settings become pools, clients and running components.

`lentur serve`, `lentur worker` and `lentur projector` each call one `run_*` function here; tests call the
same functions in-process. No module does work at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import structlog
import uvicorn
from faststream.middlewares.acknowledgement.config import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, NatsBroker, NatsMessage, PullSub

from contracts.events import EventEnvelope
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.projector import ProjectionRunner
from eventstore.relay import OutboxRelay, events_stream
from eventstore.store import PostgresEventStore
from runtime.clock import Clock
from runtime.settings import Settings
from runtime.telemetry import (
    OUTBOX_BACKLOG,
    PROJECTION_BACKLOG,
    MeteredProjection,
    configure_tracing,
    consumer_span,
    instrument_app,
    links_from,
    serve_metrics,
    temporal_interceptors,
)
from services.app import create_app
from services.approvals.projection import ReadModelProjection
from services.auth import TokenService
from services.container import Container
from services.packs.registry import PolicyRegistry, publish_bundled_packs
from services.privacy import PersonalDataVault
from services.readmodels import ReadModels
from services.waiter import ProjectionWaiter
from workflows.worker import build_worker, connect_temporal

log = structlog.get_logger(__name__)


def clock_from(settings: Settings) -> Clock:
    return Clock(settings.simulated_now, settings.simulated_anchor)


async def open_pool(settings: Settings, *, name: str, max_size: int | None = None) -> asyncpg.Pool:
    return await create_pool(
        settings.require("database_url"),
        min_size=settings.db_pool_min,
        max_size=max_size or settings.db_pool_max,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        lock_timeout_ms=settings.db_lock_timeout_ms,
        application_name=f"lentur-{name}",
    )


async def prepare_database(settings: Settings) -> list[str]:
    """Apply migrations, then publish the bundled policy packs (a no-op when they are already published)."""
    # As the schema owner when one is named; the app's own role may not create or alter anything.
    conn = await asyncpg.connect(settings.migration_database_url or settings.require("database_url"))
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    pool = await open_pool(settings, name="prepare", max_size=2)
    try:
        await publish_bundled_packs(PostgresEventStore(pool), clock_from(settings))
    finally:
        await pool.close()
    return applied


@contextlib.asynccontextmanager
async def api_container(settings: Settings) -> AsyncIterator[Container]:
    pool = await open_pool(settings, name="api")
    temporal = await connect_temporal(
        settings.require("temporal_address"),
        settings.temporal_namespace,
        interceptors=temporal_interceptors(settings),
    )
    waiter = ProjectionWaiter(settings.require("database_url"), pool)
    await waiter.start()
    nats_broker: NatsBroker | None = None
    container = Container(
        settings=settings,
        clock=clock_from(settings),
        pool=pool,
        store=PostgresEventStore(pool),
        temporal=temporal,
        tokens=TokenService(
            settings.jwt_secret.get_secret_value(),
            settings.jwt_ttl_seconds,
            previous=[old.get_secret_value() for old in settings.jwt_previous_secrets],
            leeway_seconds=settings.jwt_leeway_seconds,
        ),
        vault=PersonalDataVault(
            pool,
            settings.vault_key_secret,
            previous=[old.get_secret_value() for old in settings.vault_previous_secrets],
        ),
        reads=ReadModels(pool),
        waiter=waiter,
        policy=PolicyRegistry(pool),
    )
    if settings.nats_url:
        nats_broker = NatsBroker(settings.nats_servers, logger=None)
        await nats_broker.connect()
        broker = nats_broker

        async def nats_ping() -> None:
            if not await broker.ping(timeout=2.0):
                raise ConnectionError("nats ping failed")

        container.extras["nats_ping"] = nats_ping
    try:
        yield container
    finally:
        await waiter.stop()
        if nats_broker is not None:
            await nats_broker.stop()
        await pool.close()


async def run_api(
    settings: Settings,
    stop: asyncio.Event,
    *,
    host: str | None = None,
    port: int | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    configure_tracing(settings, "api")
    async with api_container(settings) as container:
        app = create_app(container)
        instrument_app(app, settings)
        config = uvicorn.Config(
            app,
            host=host or settings.http_host,
            port=port or settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if ready is not None:
            ready.set()
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving


async def run_worker(settings: Settings, stop: asyncio.Event, *, ready: asyncio.Event | None = None) -> None:
    configure_tracing(settings, "worker")
    metrics = serve_metrics(settings)
    pool = await open_pool(settings, name="worker", max_size=max(settings.db_pool_max, 20))
    try:
        client = await connect_temporal(
            settings.require("temporal_address"),
            settings.temporal_namespace,
            interceptors=temporal_interceptors(settings),
        )
        worker = build_worker(client, settings.task_queue, PostgresEventStore(pool), pool)
        async with worker:
            log.info("worker_started", task_queue=settings.task_queue)
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        if metrics is not None:
            metrics.shutdown()
        await pool.close()


@dataclass
class ProjectorHandles:
    runner: ProjectionRunner
    relay: OutboxRelay


async def run_projector(
    settings: Settings,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    handles: list[ProjectorHandles] | None = None,
) -> None:
    """The outbox relay, and the read-model projection fed by a durable JetStream consumer.

    Several replicas may run: one relay publishes at a time (an advisory-lock lease), and the replicas share
    one durable *pull* consumer, so each message goes to one of them; whichever applies a batch locks the
    checkpoint row first, and the others skip what it already applied.
    """
    configure_tracing(settings, "projector")
    metrics = serve_metrics(settings)
    pool = await open_pool(settings, name="projector")
    store = PostgresEventStore(pool)
    runner = ProjectionRunner(pool, store, MeteredProjection(ReadModelProjection()))
    stream = events_stream(
        settings.nats_stream,
        settings.nats_subject_prefix,
        settings.nats_duplicate_window_seconds,
        settings.nats_stream_replicas,
    )
    broker = NatsBroker(settings.nats_servers, logger=None)
    relay = OutboxRelay(
        settings.require("database_url"), store, broker, stream=stream, prefix=settings.nats_subject_prefix
    )
    inbox: asyncio.Queue[tuple[dict[str, object], NatsMessage]] = asyncio.Queue()

    # A pull consumer: replicas fetch from the same durable consumer (a push consumer binds to one process).
    @broker.subscriber(
        f"{settings.nats_subject_prefix}.>",
        stream=stream,
        durable=f"{runner.name}-pull",
        pull_sub=PullSub(batch_size=500, timeout=1.0),
        config=ConsumerConfig(max_ack_pending=5000, ack_wait=30.0),
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_event(body: dict[str, object], msg: NatsMessage) -> None:
        await inbox.put((body, msg))

    async def apply_deliveries() -> None:
        while True:
            items = [await inbox.get()]
            while not inbox.empty() and len(items) < 500:
                items.append(inbox.get_nowait())
            try:
                events = [EventEnvelope.model_validate(body) for body, _ in items]
                with consumer_span(f"project {runner.name}", links_from(msg.headers for _, msg in items)) as span:
                    if span.is_recording():
                        span.set_attribute("lentur.events", len(events))
                        span.set_attribute("lentur.correlation_ids", sorted({e.correlation_id for e in events})[:20])
                    await runner.deliver(events)
            except Exception as exc:
                log.error("projection_batch_failed", error=str(exc), size=len(items))
                for _, msg in items:
                    with contextlib.suppress(Exception):
                        await msg.nack(delay=1.0)
                continue
            for _, msg in items:
                with contextlib.suppress(Exception):
                    await msg.ack()

    async def safety_net() -> None:
        # NATS may be down or a delivery lost; the store is the source of truth, so catch up from it.
        while True:
            await asyncio.sleep(2.0)
            try:
                head, checkpoint = await store.head_position(), await runner.checkpoint()
                relayed = await pool.fetchval("SELECT position FROM relay_cursor WHERE name = $1", relay.name)
                PROJECTION_BACKLOG.labels(runner.name).set(head - checkpoint)
                OUTBOX_BACKLOG.set(head - int(relayed or 0))
                if checkpoint < head:
                    await runner.catch_up()
            except Exception as exc:
                log.warning("projection_catch_up_failed", error=str(exc))

    tasks: list[asyncio.Task[None]] = []
    try:
        await runner.catch_up()
        await broker.start()
        tasks = [
            asyncio.create_task(apply_deliveries()),
            asyncio.create_task(safety_net()),
            asyncio.create_task(relay.run(stop)),
        ]
        if handles is not None:
            handles.append(ProjectorHandles(runner=runner, relay=relay))
        log.info("projector_started", checkpoint=await runner.checkpoint())
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await broker.stop()
        if metrics is not None:
            metrics.shutdown()
        await pool.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process build the same Settings."""
    env = {}
    for name, value in json.loads(settings.model_dump_json()).items():
        if value is None:
            continue
        if name in ("jwt_secret", "vault_secret"):
            value = getattr(settings, name).get_secret_value()
        elif name in ("jwt_previous_secrets", "vault_previous_secrets"):
            value = json.dumps([old.get_secret_value() for old in getattr(settings, name)])
        env[f"LENTUR_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env
