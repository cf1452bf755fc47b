"""The composition root: the one place settings become pools, clients and running components.

`lentur serve`, `lentur worker` and `lentur projector` each call one `run_*` function here; tests call the
same functions in-process. No module does work at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
import uvicorn
from faststream.middlewares.acknowledgement.config import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, NatsMessage
from opentelemetry.trace import Link
from pydantic import SecretStr

from contracts.canonical import loads
from contracts.events import EventEnvelope
from eventstore.db import create_pool
from eventstore.migrate import migrate
from eventstore.projector import ProjectionRunner, missed_up_to
from eventstore.relay import CLAIM_CHECK_HEADER, OutboxRelay, events_stream
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
from services.approvals.projection import ReadModelProjection
from services.audit.checkpoints import run_checkpoints
from services.audit.signing import signer_from_settings
from services.documents.issuer import LetterIssuer
from services.documents.projection import LetterProjection
from services.http.app import create_app
from services.kernel.auth import TokenService
from services.kernel.container import Container
from services.kernel.privacy import PersonalDataVault, run_retention
from services.kernel.readmodels import ReadModels
from services.kernel.waiter import ProjectionWaiter
from services.notifications.channels import EmailChannel, SmtpConfig, WebhookChannel
from services.notifications.dispatcher import NotificationDispatcher, RetryPolicy
from services.notifications.projection import NotifierConfig, NotifierProjection, start_at_head
from services.packs.registry import PolicyRegistry, publish_bundled_packs
from workflows.worker import build_worker, connect_temporal, sandbox_bytecode

log = structlog.get_logger(__name__)


def clock_from(settings: Settings) -> Clock:
    return Clock(settings.simulated_now, settings.simulated_anchor)


async def open_pool(
    settings: Settings, *, name: str, max_size: int | None = None, as_owner: bool = False
) -> asyncpg.Pool:
    """A pool as the application role; `as_owner` uses the schema owner's URL when one is configured."""
    owner = settings.migration_database_url if as_owner else None
    return await create_pool(
        owner or settings.require("database_url"),
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
        signer=signer_from_settings(settings),
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
        worker = build_worker(
            client,
            settings.task_queue,
            PostgresEventStore(pool),
            pool,
            max_cached_workflows=settings.worker_max_cached_workflows,
            sandbox=settings.workflow_sandbox,
        )
        with sandbox_bytecode(mode=settings.workflow_sandbox) as bytecode:
            if bytecode is not None:
                log.info("worker_bytecode_prefix", path=str(bytecode))
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
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    dispatcher: NotificationDispatcher | None = None
    issuer: LetterIssuer | None = None


def public_base_url(settings: Settings) -> str:
    return settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"


def notification_channels(settings: Settings) -> tuple[EmailChannel | None, WebhookChannel | None]:
    email = None
    if settings.smtp_url:
        config = SmtpConfig.from_url(
            settings.smtp_url,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
        )
        email = EmailChannel(config, settings.mail_from)
    webhook = None
    if settings.notify_webhook_url:
        secret = settings.notify_webhook_secret.get_secret_value() if settings.notify_webhook_secret else ""
        webhook = WebhookChannel(settings.notify_webhook_url, secret)
    return email, webhook


async def _the_message_itself(msg: NatsMessage) -> NatsMessage:
    """A decoder that leaves the body alone: the projector parses it once, with the store's own JSON reader."""
    return msg


async def _claimed(
    events: list[EventEnvelope], messages: list[NatsMessage], store: PostgresEventStore
) -> list[EventEnvelope]:
    """Events that came as a claim check (too large for one message) are read whole from the store."""
    out = []
    for event, msg in zip(events, messages, strict=True):
        if (msg.headers or {}).get(CLAIM_CHECK_HEADER):
            stored = await store.read_all(after=event.position - 1, limit=1)
            if not stored or stored[0].event_id != event.event_id:
                raise LookupError(f"claim-checked event {event.event_id} is not at position {event.position}")
            event = stored[0]
        out.append(event)
    return out


PROJECTIONS_CONSUMER = "projections"


def _consume(
    broker: NatsBroker,
    stream: JStream,
    prefix: str,
    runners: Sequence[ProjectionRunner],
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    relay: OutboxRelay,
    following_window: float = 0.0,
) -> list[Callable[[], Coroutine[object, object, None]]]:
    """One durable JetStream consumer feeding every projection of the process, in batches.

    Each message is decoded and acknowledged once and applied by every runner. The read models go first and
    alone: the API waits for them before answering a write, so they never queue behind the notifier's or the
    letters' work, which follows in a second loop, side by side; that loop gathers what reaches it within
    `following_window` seconds into one batch, as nobody waits for it. A message is acknowledged once every runner
    has applied it; each runner keeps its own checkpoint row, so on redelivery a runner that failed applies the
    batch and the others skip what they already have.
    Replicas share the durable consumer through a deliver group (`queue`), so each message goes to one of
    them; whichever moves a projection's checkpoint row first (a compare-and-set) applies the batch, and the
    others roll back and skip what it already applied (push delivery keeps commit-to-visible in
    milliseconds; a pull fetch waits out its batch).
    """
    inbox: asyncio.Queue[NatsMessage] = asyncio.Queue()
    Batch = tuple[list[NatsMessage], list[EventEnvelope], list[Link]]
    # Bounded, so a slow notifier holds deliveries back (max_ack_pending) instead of piling batches up here.
    following: asyncio.Queue[Batch] = asyncio.Queue(maxsize=64)
    first, *rest = runners

    # faststream warns about any durable push consumer, even one with a deliver group as here; the warning's
    # advice (add `queue`) is already followed, so it is silenced for this declaration only.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The JetStream Push consumer with the `durable` option")
        subscribe = broker.subscriber(
            f"{prefix}.>",
            stream=stream,
            durable=PROJECTIONS_CONSUMER,
            queue=PROJECTIONS_CONSUMER,
            config=ConsumerConfig(max_ack_pending=5000, ack_wait=30.0),
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.MANUAL,
            decoder=_the_message_itself,
        )

    @subscribe
    async def on_event(msg: Any) -> None:
        # One plain parameter: asking for the message as an injected `NatsMessage` made fast_depends resolve it
        # in a worker thread for every event (a thread hand-off and a task group per message).
        inbox.put_nowait(msg)

    async def apply(runner: ProjectionRunner, events: list[EventEnvelope], links: list[Link]) -> None:
        try:
            with consumer_span(f"project {runner.name}", links) as span:
                if span.is_recording():
                    span.set_attribute("lentur.events", len(events))
                    span.set_attribute("lentur.correlation_ids", sorted({e.correlation_id for e in events})[:20])
                await runner.deliver(events)
        except Exception as exc:
            log.error("projection_batch_failed", projection=runner.name, error=str(exc), size=len(events))
            raise

    async def settle(messages: list[NatsMessage], ok: bool) -> None:
        for msg in messages:
            with contextlib.suppress(Exception):
                await (msg.ack() if ok else msg.nack(delay=1.0))

    async def apply_deliveries() -> None:
        while True:
            messages = [await inbox.get()]
            while not inbox.empty() and len(messages) < 500:
                messages.append(inbox.get_nowait())
            try:
                events = await _claimed(
                    [EventEnvelope.model_validate(loads(m.body)) for m in messages], messages, store
                )
                links = links_from(msg.headers for msg in messages)
                await apply(first, events, links)
            except Exception:
                await settle(messages, ok=False)
                continue
            await following.put((messages, events, links))

    async def apply_following() -> None:
        while True:
            batches = [await following.get()]
            if following_window > 0:
                # Nobody waits for these: let the deliveries of the next moment join this batch.
                await asyncio.sleep(following_window)
            while not following.empty() and len(batches) < 64:
                batches.append(following.get_nowait())
            messages = [m for batch in batches for m in batch[0]]
            events = [e for batch in batches for e in batch[1]]
            links = [link for batch in batches for link in batch[2]]
            outcomes = await asyncio.gather(*(apply(r, events, links) for r in rest), return_exceptions=True)
            await settle(messages, ok=not any(isinstance(o, BaseException) for o in outcomes))

    def safety_net(runner: ProjectionRunner) -> Callable[[], Coroutine[object, object, None]]:
        async def catch_up_forever() -> None:
            # NATS may be down or a delivery lost; the store is the source of truth, so catch up from it, on what
            # was already there at the previous look (missed_up_to).
            previous_head: int | None = None
            while True:
                await asyncio.sleep(2.0)
                try:
                    head, checkpoint = await store.head_position(), await runner.checkpoint()
                    PROJECTION_BACKLOG.labels(runner.name).set(head - checkpoint)
                    relayed = await pool.fetchval("SELECT position FROM relay_cursor WHERE name = $1", relay.name)
                    OUTBOX_BACKLOG.set(head - int(relayed or 0))
                    missed, previous_head = missed_up_to(head, previous_head), head
                    if checkpoint < missed:
                        await runner.catch_up()
                except Exception as exc:
                    log.warning("projection_catch_up_failed", projection=runner.name, error=str(exc))

        return catch_up_forever

    return [apply_deliveries, apply_following, *(safety_net(r) for r in runners)]


async def run_projector(
    settings: Settings,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    handles: list[ProjectorHandles] | None = None,
) -> None:
    """The outbox relay; the read-model, notifier and letters projections, each fed by its own durable
    JetStream consumer; and the loops that deliver notifications, issue letters, sign checkpoints and keep
    personal data only as long as allowed. Several replicas may run (see `_consume` and the relay's lease)."""
    configure_tracing(settings, "projector")
    metrics = serve_metrics(settings)
    pool = await open_pool(settings, name="projector")
    store = PostgresEventStore(pool)
    clock = clock_from(settings)
    base_url = public_base_url(settings)
    email, webhook = notification_channels(settings)
    runner = ProjectionRunner(pool, store, MeteredProjection(ReadModelProjection()))
    notifier = ProjectionRunner(
        pool,
        store,
        NotifierProjection(
            NotifierConfig(
                base_url=base_url,
                fallback_domain=settings.mail_fallback_domain,
                email_enabled=email is not None,
                webhook_enabled=webhook is not None,
                digest_hour=settings.notify_digest_hour,
            )
        ),
    )
    letters = ProjectionRunner(pool, store, LetterProjection())
    runners = [runner, notifier, letters]
    retry = RetryPolicy(
        base_seconds=settings.notify_retry_base_seconds,
        max_seconds=settings.notify_retry_max_seconds,
        max_attempts=settings.notify_max_attempts,
    )
    dsn = settings.require("database_url")
    dispatcher = NotificationDispatcher(pool, clock, dsn=dsn, email=email, webhook=webhook, retry=retry)
    stream = events_stream(
        settings.nats_stream,
        settings.nats_subject_prefix,
        settings.nats_duplicate_window_seconds,
        settings.nats_stream_replicas,
    )
    broker = NatsBroker(settings.nats_servers, logger=None)
    relay = OutboxRelay(
        dsn,
        store,
        broker,
        stream=stream,
        prefix=settings.nats_subject_prefix,
        max_message_bytes=settings.nats_max_message_bytes,
    )
    loops = _consume(
        broker,
        stream,
        settings.nats_subject_prefix,
        runners,
        store,
        pool,
        relay,
        following_window=settings.projector_following_window_seconds,
    )
    vault = PersonalDataVault(
        pool, settings.vault_key_secret, previous=[old.get_secret_value() for old in settings.vault_previous_secrets]
    )
    issuer = LetterIssuer(pool, store, clock, base_url=base_url, dsn=dsn, vault=vault)

    tasks: list[asyncio.Task[None]] = []
    try:
        for effectful in (notifier, letters):
            await start_at_head(pool, effectful.name)
        for each in runners:
            await each.catch_up()
        await broker.start()
        tasks = [asyncio.create_task(loop()) for loop in loops]
        tasks += [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(dispatcher.run(stop)),
            asyncio.create_task(issuer.run(stop)),
            # Periodic duties of the log itself: signed checkpoints, and retention of personal data.
            asyncio.create_task(
                run_checkpoints(
                    store,
                    signer_from_settings(settings),
                    clock,
                    stop,
                    every_events=settings.audit_checkpoint_every_events,
                    interval_seconds=settings.audit_checkpoint_interval_seconds,
                )
            ),
            asyncio.create_task(
                run_retention(
                    vault,
                    store,
                    clock,
                    stop,
                    retention_months=settings.privacy_retention_months,
                    every_seconds=settings.privacy_retention_check_seconds,
                )
            ),
        ]
        if handles is not None:
            handles.append(
                ProjectorHandles(
                    runner=runner,
                    relay=relay,
                    runners={r.name: r for r in runners},
                    dispatcher=dispatcher,
                    issuer=issuer,
                )
            )
        log.info("projector_started", checkpoints={r.name: await r.checkpoint() for r in runners})
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
        secret = getattr(settings, name)
        if isinstance(secret, SecretStr):
            value = secret.get_secret_value()
        elif isinstance(secret, list) and secret and all(isinstance(v, SecretStr) for v in secret):
            value = json.dumps([v.get_secret_value() for v in secret])
        env[f"LENTUR_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env
