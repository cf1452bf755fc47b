"""One request, one connected trace: HTTP → Temporal update → workflow → activity; then relay and projection
spans that point back to it. And the Prometheus figures operators watch. Spans stay in memory: nothing is
sent over the network."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from deploy.infra import InfraAddresses
from runtime import telemetry
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

STAFF = "197809212003122164"  # Indah Made, Kendari DISHUB-U1
UNIT_HEAD = "197506201999081160"


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    try:
        async with running_stack(infra, await create_database(infra, prefix="otel"), tracing="memory") as running:
            yield running
    finally:
        telemetry.shutdown_tracing()  # later stacks in this session run untraced


def _ancestry(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = [span]
    while chain[-1].parent is not None and chain[-1].parent.span_id in by_id:
        chain.append(by_id[chain[-1].parent.span_id])
    return chain


async def test_one_request_is_one_trace_from_http_to_the_activity(stack: RunningStack) -> None:
    async with await stack.as_user(STAFF) as asn:
        r = await asn.post(
            "/api/requests",
            json={"kind": "WFH", "dates": ["2025-12-30"], "reason": "Merawat anak"},
            headers={"X-Correlation-ID": "trace-test-correlation"},
        )
    assert r.status_code == 201, r.text
    spans = list(telemetry.recorded_spans())
    server = [
        s
        for s in spans
        if s.kind == SpanKind.SERVER and s.attributes.get("lentur.correlation_id") == "trace-test-correlation"
    ]
    assert len(server) == 1, [s.name for s in spans]
    trace_id = server[0].context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}
    names = {s.name for s in in_trace}
    assert any(n.startswith("StartUpdateWithStartWorkflow:ApprovalWorkflow") for n in names), names
    assert any(n.startswith("RunWorkflow:ApprovalWorkflow") for n in names), names
    activities = [s for s in in_trace if s.name == "RunActivity:append_events"]
    assert activities, names
    # The activity's ancestry reaches the HTTP request's own span (activity ← workflow's scheduling span ←
    # the client's update-with-start span ← the HTTP server span): one connected trace.
    chain = _ancestry(activities[0], by_id)
    assert chain[-1] is server[0], [s.name for s in chain]


async def test_relay_and_projection_spans_are_linked_through_message_headers(stack: RunningStack) -> None:
    import asyncio

    async with await stack.as_user(STAFF) as asn:
        r = await asn.post(
            "/api/requests",
            json={"kind": "WFH", "dates": ["2025-12-31"], "reason": "Merawat anak"},
            headers={"X-Correlation-ID": "trace-test-linked"},
        )
    assert r.status_code == 201, r.text
    for _ in range(100):  # the projector may have caught up from the store before NATS delivered
        spans = list(telemetry.recorded_spans())
        publishes = {
            s.context.span_id
            for s in spans
            if s.name == "publish lentur.events"
            and "trace-test-linked" in (s.attributes.get("lentur.correlation_ids") or ())
        }
        linked = [
            s
            for s in spans
            if s.name == "project read-models" and any(link.context.span_id in publishes for link in s.links)
        ]
        if publishes and linked:
            break
        await asyncio.sleep(0.1)
    assert publishes and linked


async def test_metrics_show_decisions_latencies_lag_and_backlog(stack: RunningStack) -> None:
    import asyncio

    async with await stack.as_user(STAFF) as asn:
        created = (
            await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Merawat anak"})
        ).json()
    async with await stack.as_user(UNIT_HEAD) as head:
        r = await head.post(f"/api/tasks/{created['current_task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 200, r.text
    await asyncio.sleep(2.5)  # the projector refreshes its backlog gauges every two seconds
    async with stack.client() as http:
        text = (await http.get("/metrics")).text
    for needle in (
        'lentur_decisions_total{decision="approve",tier="UNIT_HEAD"}',
        'lentur_workflow_update_seconds_count{outcome="completed",update="decide"}',
        'lentur_workflow_update_seconds_count{outcome="completed",update="submitted"}',
        'lentur_activity_seconds_count{activity="append_events",outcome="completed"}',
        "lentur_projection_lag_seconds_count",
        "lentur_outbox_backlog_events",
        'lentur_projection_backlog_events{projection="read-models"}',
        "lentur_relay_published_total",
        'lentur_events_projected_total{type="DecisionRecorded"}',
        'lentur_http_requests_total{method="POST",route="/api/tasks/{task_id}/decision",status="200"}',
    ):
        assert needle in text, needle
