"""Traces and metrics for every Lentur process.

Traces: an HTTP request (FastAPI instrumentation) carries its context into Temporal (the SDK's
TracingInterceptor on client and worker), so the workflow and its activities join the request's trace. The
outbox decouples the store from NATS: the relay starts a span per published batch and puts its context in
each message's headers (W3C `traceparent`), and the projector's span for the batch it applies links to
those. Spans carry `lentur.correlation_id`, the id every event of a request also carries, to go from a
request's trace to its relay and projection spans. Tracing is off unless `LENTUR_TRACING=otlp` (with an
OTLP/HTTP endpoint); `memory` keeps spans in this process for tests. Nothing is sent anywhere when off.

Metrics: Prometheus counters, gauges and histograms. The API serves them at /metrics; the worker and the
projector serve theirs on `LENTUR_METRICS_PORT`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog
import temporalio.activity
import temporalio.client
import temporalio.worker
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Tracer
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from runtime.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

# -- metrics ----------------------------------------------------------------------------------------------

DECISIONS = Counter("lentur_decisions_total", "Decisions recorded (as projected from the log)", ["decision", "tier"])
EVENTS_PROJECTED = Counter("lentur_events_projected_total", "Events applied to the read models", ["type"])
REQUEST_OUTCOME = Histogram(
    "lentur_request_outcome_seconds",
    "From submission to the request's outcome (the approval workflow's end-to-end latency)",
    ["kind", "outcome"],
    buckets=(1, 10, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400),
)
PROJECTION_LAG = Histogram(
    "lentur_projection_lag_seconds",
    "Seconds between an event's recorded_at and its application to the read models",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PROJECTION_BACKLOG = Gauge("lentur_projection_backlog_events", "Head position minus the checkpoint", ["projection"])
OUTBOX_BACKLOG = Gauge("lentur_outbox_backlog_events", "Head position minus the relay cursor (not yet on NATS)")
RELAY_PUBLISHED = Counter("lentur_relay_published_total", "Events the relay published to JetStream")
ACTIVITY_SECONDS = Histogram(
    "lentur_activity_seconds",
    "Temporal activity execution time",
    ["activity", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPDATE_SECONDS = Histogram(
    "lentur_workflow_update_seconds",
    "Temporal workflow updates (submit, decide, cancel, ...) as the API waits for them",
    ["update", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TERMINAL_EVENTS = {
    "RequestApproved": "approved",
    "RequestRejected": "rejected",
    "RequestCancelled": "cancelled",
    "RequestExpired": "expired",
}


def serve_metrics(settings: Settings) -> Any:
    """The worker's and projector's own /metrics endpoint, when a port is configured; returns the server."""
    if settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    log.info("metrics_serving", host=settings.metrics_host, port=settings.metrics_port)
    return server


class _Event(Protocol):
    type: str
    payload: dict[str, Any]
    recorded_at: datetime | None
    occurred_at: datetime


class _Projection(Protocol):
    name: str

    async def apply_batch(self, conn: Any, events: list[Any]) -> None: ...


class MeteredProjection:
    """Wraps a projection: counts what it applies, decisions among them, lag and request outcome latency.

    Counted inside the batch's transaction: a batch that fails to commit and is applied again is counted
    twice, which a counter may afford (the read models themselves stay exactly-once).
    """

    def __init__(self, inner: _Projection) -> None:
        self.inner = inner
        self.name = inner.name

    async def apply_batch(self, conn: Any, events: list[Any]) -> None:
        await self.inner.apply_batch(conn, events)
        now = datetime.now(UTC)
        terminal: list[_Event] = []
        for event in events:
            EVENTS_PROJECTED.labels(event.type).inc()
            if event.recorded_at is not None:
                PROJECTION_LAG.observe(max(0.0, (now - event.recorded_at).total_seconds()))
            if event.type == "DecisionRecorded":
                DECISIONS.labels(str(event.payload.get("decision")), str(event.payload.get("tier"))).inc()
            elif event.type in TERMINAL_EVENTS and event.payload.get("request_id"):
                terminal.append(event)
        if terminal:
            rows = await conn.fetch(
                "SELECT request_id::text AS id, kind, submitted_at FROM rm_requests WHERE request_id = ANY($1::uuid[])",
                [str(e.payload["request_id"]) for e in terminal],
            )
            submitted = {r["id"]: (r["kind"], r["submitted_at"]) for r in rows}
            for event in terminal:
                found = submitted.get(str(event.payload["request_id"]))
                if found is not None:
                    seconds = (event.occurred_at - found[1]).total_seconds()
                    REQUEST_OUTCOME.labels(found[0], TERMINAL_EVENTS[event.type]).observe(max(0.0, seconds))


# -- traces -----------------------------------------------------------------------------------------------

_provider: TracerProvider | None = None
_memory: InMemorySpanExporter | None = None
TRACER_NAME = "lentur"


def configure_tracing(settings: Settings, service: str) -> TracerProvider | None:
    """Once per process: the tracer provider the settings ask for, or None when tracing is off."""
    global _provider, _memory
    if settings.tracing == "off":
        return None
    if _provider is not None:
        return _provider
    resource = Resource.create(
        {"service.name": f"lentur-{service}", "service.namespace": "lentur", "deployment.environment": settings.env}
    )
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)))
    if settings.tracing == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    else:
        _memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_memory))
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    global _provider, _memory
    if _provider is not None:
        _provider.shutdown()
    _provider, _memory = None, None


def recorded_spans() -> Sequence[ReadableSpan]:
    """Spans kept by the in-memory exporter (LENTUR_TRACING=memory)."""
    return _memory.get_finished_spans() if _memory is not None else ()


def tracer() -> Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer(TRACER_NAME)


def instrument_app(app: Any, settings: Settings) -> None:
    if _provider is None or settings.tracing == "off":
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics,static")


def tag_current_span(**attributes: str) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        for key, value in attributes.items():
            span.set_attribute(f"lentur.{key}", value)


def trace_headers() -> dict[str, str]:
    """The current trace context as message headers (empty when nothing is being traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def links_from(headers: Iterable[Mapping[str, str] | None], *, limit: int = 32) -> list[Link]:
    """Links to the distinct trace contexts found in delivered messages' headers."""
    links: list[Link] = []
    seen: set[tuple[int, int]] = set()
    for carrier in headers:
        if not carrier or "traceparent" not in carrier:
            continue
        context: Context = propagate.extract(dict(carrier))
        span_context = trace.get_current_span(context).get_span_context()
        key = (span_context.trace_id, span_context.span_id)
        if span_context.is_valid and key not in seen:
            seen.add(key)
            links.append(Link(span_context))
            if len(links) >= limit:
                break
    return links


def producer_span(name: str) -> Any:
    return tracer().start_as_current_span(name, kind=SpanKind.PRODUCER)


def consumer_span(name: str, links: list[Link]) -> Any:
    return tracer().start_as_current_span(name, kind=SpanKind.CONSUMER, links=links)


# -- Temporal ---------------------------------------------------------------------------------------------


async def _observed(histogram: Histogram, name: str, call: Awaitable[T]) -> T:
    """Await `call`, recording how long it took under (name, completed | failed)."""
    started, outcome = time.perf_counter(), "failed"
    try:
        result = await call
        outcome = "completed"
        return result
    finally:
        histogram.labels(name, outcome).observe(time.perf_counter() - started)


class _MeteredActivities(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        activity = temporalio.activity.info().activity_type
        return await _observed(ACTIVITY_SECONDS, activity, super().execute_activity(input))


class _MeteredUpdates(temporalio.client.OutboundInterceptor):
    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        return await _observed(UPDATE_SECONDS, input.update, super().start_workflow_update(input))

    async def start_update_with_start_workflow(self, input: temporalio.client.StartWorkflowUpdateWithStartInput) -> Any:
        update = input.update_workflow_input.update
        return await _observed(UPDATE_SECONDS, update, super().start_update_with_start_workflow(input))


class TemporalMetrics(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Activity latency on the worker, update latency on the client; a client interceptor that the worker
    built from that client picks up by itself."""

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _MeteredUpdates(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _MeteredActivities(next)


def temporal_interceptors(settings: Settings) -> list[Any]:
    """Tracing (outermost), metrics, and on a one-machine stack the backup fence around each Update (innermost,
    so the update latency includes a wait at the fence)."""
    interceptors: list[Any] = [TemporalMetrics()]
    if settings.backup_fence_dir is not None:
        from runtime.backup_fence import FencedUpdates

        interceptors.append(FencedUpdates(settings.backup_fence_dir))
    if _provider is not None and settings.tracing != "off":
        from temporalio.contrib.opentelemetry import TracingInterceptor

        interceptors.insert(0, TracingInterceptor(tracer=_provider.get_tracer("temporalio")))
    return interceptors
