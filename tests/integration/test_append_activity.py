"""The append activity against real Postgres when a worker died after its append committed.

The retried workflow task derives the same event ids but takes its times from its own clock; the activity
must answer with what the log holds instead of failing forever (the request would stay stuck)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from eventstore.store import IdempotencyConflict, PostgresEventStore
from workflows.approval.activities import ApprovalActivities
from workflows.approval.models import AppendRequest, EventDraft, derived_event_id

pytestmark = pytest.mark.integration


def drafts(stream: str, at: datetime, *, actor: str = "199505042021012163", remind_at: datetime) -> list[EventDraft]:
    common = {"stream_id": stream, "schema_version": 1, "actor": actor, "correlation_id": "c", "occurred_at": at}
    return [
        EventDraft(event_id=derived_event_id(stream, 1), type="RequestSubmitted", payload={"n": 1}, **common),
        EventDraft(
            event_id=derived_event_id(stream, 2),
            type="TaskAssigned",
            payload={"remind_at": remind_at.isoformat()},
            **common,
        ),
    ]


async def test_a_retried_task_gets_what_its_earlier_attempt_wrote(store: PostgresEventStore) -> None:
    activities = ApprovalActivities(store, store.pool)
    stream = f"request-{uuid.uuid4()}"
    first_at = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)
    first = await activities.append_events(
        AppendRequest(events=drafts(stream, first_at, remind_at=first_at + timedelta(hours=8)), expected={stream: 0})
    )
    retried_at = first_at + timedelta(seconds=9)  # the new worker's workflow task, nine seconds later
    again = await activities.append_events(
        AppendRequest(
            events=drafts(stream, retried_at, remind_at=retried_at + timedelta(hours=8)), expected={stream: 0}
        )
    )
    assert again == first
    stored = await store.read_stream(stream)
    assert [e.version for e in stored] == [1, 2] and stored[0].occurred_at == first_at  # the log keeps the first


async def test_an_event_id_reused_by_someone_else_is_still_a_conflict(store: PostgresEventStore) -> None:
    activities = ApprovalActivities(store, store.pool)
    stream = f"request-{uuid.uuid4()}"
    at = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)
    await activities.append_events(AppendRequest(events=drafts(stream, at, remind_at=at), expected={stream: 0}))
    with pytest.raises(IdempotencyConflict):
        await activities.append_events(
            AppendRequest(
                events=drafts(stream, at, actor="197506201999081160", remind_at=at + timedelta(seconds=1)),
                expected={stream: 0},
            )
        )
