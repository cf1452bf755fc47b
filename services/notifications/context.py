"""What a request looked like at a given version, folded from its own stream.

The notifier and the letter reactor run beside the read-model projection, not after it, so they never read
`rm_requests` (it may not have caught up). The request stream is the source of truth and is short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import request_stream

CONTEXT_TYPES = (
    "RequestSubmitted",
    "RequestResubmitted",
    "RouteDetermined",
    "TaskAssigned",
    "DecisionRecorded",
    "RequestDatesChanged",
    "RequestApproved",
)


@dataclass(frozen=True)
class StreamFact:
    version: int
    position: int
    event_id: UUID
    type: str
    payload: dict[str, Any]
    actor: str
    on_behalf_of: str | None
    occurred_at: datetime
    correlation_id: str
    policy: dict[str, Any] | None


@dataclass(frozen=True)
class TaskFact:
    task_id: str
    tier: str
    action: str
    assignee_nip: str
    assignee_name: str | None
    assigned_at: datetime
    remind_at: str | None
    escalate_at: str | None


@dataclass(frozen=True)
class DecisionFact:
    task_id: str
    tier: str
    decision: str
    comment: str | None
    actor: str
    on_behalf_of: str | None
    occurred_at: datetime
    round: int


@dataclass
class RequestContext:
    request_id: UUID
    requester_nip: str
    requester_name: str
    region: str
    opd_code: str
    unit_code: str
    kind: str
    dates: list[date]
    country: str | None
    correlation_id: str
    round: int = 1
    travel_purpose: str | None = None
    timezone: str | None = None
    route: list[dict[str, Any]] = field(default_factory=list)
    working_days: int = 0
    extra_days: int = 0  # annual leave in a place hard to reach: calendar days of travel after the last day
    tasks: dict[str, TaskFact] = field(default_factory=dict)
    decisions: list[DecisionFact] = field(default_factory=list)
    version: int = 0

    @property
    def abroad(self) -> bool:
        return bool(self.country) and self.country != "ID"

    def step_count(self) -> int:
        return len(self.route)


def fold_request(facts: Iterable[StreamFact], *, up_to_position: int | None = None) -> RequestContext | None:
    """The request as of `up_to_position` (inclusive), or at its latest."""
    context: RequestContext | None = None
    for fact in facts:
        if up_to_position is not None and fact.position > up_to_position:
            break
        p = fact.payload
        if fact.type == "RequestSubmitted":
            context = RequestContext(
                request_id=UUID(str(p["request_id"])),
                requester_nip=p["requester_nip"],
                requester_name=p["requester_name"],
                region=p["region"],
                opd_code=p["opd_code"],
                unit_code=p["unit_code"],
                kind=p["kind"],
                dates=[date.fromisoformat(d) for d in p["dates"]],
                country=p.get("country"),
                correlation_id=fact.correlation_id,
                travel_purpose=p.get("travel_purpose"),
            )
        elif context is None:
            continue
        elif fact.type == "RequestResubmitted":
            context.dates = [date.fromisoformat(d) for d in p["dates"]]
            context.country = p.get("country")
            context.round = p["round"]
        elif fact.type == "RequestDatesChanged":
            # the PYBMC's perubahan: from here on the request is for the granted dates
            context.dates = [date.fromisoformat(d) for d in p["dates"]]
            context.working_days = int(p["working_days"])
        elif fact.type == "RouteDetermined":
            context.timezone = p["timezone"]
            context.route = list(p["route"])
            context.working_days = int(p.get("working_days") or 0)
            context.extra_days = int((p.get("leave_debit") or {}).get("extra_days") or 0)
        elif fact.type == "TaskAssigned":
            context.tasks[p["task_id"]] = TaskFact(
                task_id=p["task_id"],
                tier=p["tier"],
                action=p.get("action", "approve"),
                assignee_nip=p["assignee_nip"],
                assignee_name=p.get("assignee_name"),
                assigned_at=fact.occurred_at,
                remind_at=p.get("remind_at"),
                escalate_at=p.get("escalate_at"),
            )
        elif fact.type == "DecisionRecorded":
            context.decisions.append(
                DecisionFact(
                    task_id=p["task_id"],
                    tier=p["tier"],
                    decision=p["decision"],
                    comment=p.get("comment"),
                    actor=fact.actor,
                    on_behalf_of=fact.on_behalf_of,
                    occurred_at=fact.occurred_at,
                    round=p["round"],
                )
            )
        context.version = fact.version
    return context


def _fact(row: asyncpg.Record) -> StreamFact:
    return StreamFact(
        version=row["version"],
        position=row["position"],
        event_id=row["event_id"],
        type=row["type"],
        payload=row["payload"],
        actor=row["actor"],
        on_behalf_of=row["on_behalf_of"],
        occurred_at=row["occurred_at"],
        correlation_id=row["correlation_id"],
        policy=row["policy"],
    )


async def load_request_facts(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy | asyncpg.Pool, request_ids: Sequence[UUID]
) -> dict[UUID, list[StreamFact]]:
    """The context-bearing events of each request's stream, in version order."""
    if not request_ids:
        return {}
    streams = [request_stream(r) for r in sorted(set(request_ids))]
    rows = await conn.fetch(
        "SELECT version, position, event_id, type, payload, actor, on_behalf_of, occurred_at, correlation_id, "
        "policy, stream_id FROM events WHERE stream_id = ANY($1::text[]) AND type = ANY($2::text[]) "
        "ORDER BY stream_id, version",
        streams,
        list(CONTEXT_TYPES),
    )
    found: dict[UUID, list[StreamFact]] = {}
    for row in rows:
        found.setdefault(UUID(row["stream_id"].removeprefix("request-")), []).append(_fact(row))
    return found
