"""How a workflow records what happened: events appended to its own stream at the version it last saw.

Event ids derive from (stream, version), so a retried append after a crash is the same append and the
store refuses it as a duplicate instead of recording the fact twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.events import EventPayload
    from workflows.activity_options import call
    from workflows.approval.models import AppendRequest, AppendResult, EventDraft, derived_event_id

# What a workflow records: the payload, who acted, and on whose behalf (a Plt/Plh or delegate), if anyone.
Recorded = tuple[EventPayload, str, str | None]


async def append_to_stream(
    stream: str,
    version: int,
    items: Sequence[Recorded],
    *,
    occurred_at: datetime,
    correlation_id: str,
    causation_id: str,
    policy: dict[str, Any] | None,
    clock: str,
) -> AppendResult:
    """Append `items` in order after `version` of `stream`; one activity call, all or nothing."""
    drafts = [
        EventDraft(
            event_id=derived_event_id(stream, version + offset),
            stream_id=stream,
            type=payload.TYPE,
            schema_version=payload.SCHEMA_VERSION,
            payload=payload.model_dump(mode="json"),
            occurred_at=occurred_at,
            actor=actor,
            on_behalf_of=on_behalf_of,
            correlation_id=correlation_id,
            causation_id=causation_id,
            policy=policy,
            clock=clock,
        )
        for offset, (payload, actor, on_behalf_of) in enumerate(items, start=1)
    ]
    result: AppendResult = await call(
        "append_events", AppendRequest(events=drafts, expected={stream: version}), AppendResult
    )
    return result
