"""Inputs and outputs of the approval workflow and its activities (one model each, so fields can be added)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Citation, DecisionKind, RequestKind, Tier
from contracts.evaluation import Evaluation
from contracts.events import Sealed

# Event ids are derived, never random, so a retried activity re-appends the very same events.
EVENT_ID_NAMESPACE = UUID("6f1c2d4e-8a5b-4c3d-9e7f-1a2b3c4d5e6f")


def derived_event_id(*parts: object) -> UUID:
    return uuid5(EVENT_ID_NAMESPACE, "|".join(str(p) for p in parts))


def workflow_id_for(request_id: UUID | str) -> str:
    return f"request-{request_id}"


def task_id_for(request_id: UUID | str, round_: int, step: int) -> str:
    return f"{request_id}-r{round_}s{step}"


def request_id_of_task(task_id: str) -> str:
    return task_id.rsplit("-r", 1)[0]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RequesterRef(Model):
    nip: str
    name: str
    region: str
    opd_code: str
    unit_code: str


class ApprovalInput(Model):
    request_id: UUID
    correlation_id: str
    requester: RequesterRef
    kind: RequestKind
    dates: list[date]
    country: str | None = None
    personal: Sealed | None = None
    body_sha256: str
    idempotency_key_sha256: str | None = None
    evaluation: Evaluation
    clock_offset_seconds: float = 0.0
    clock_mode: Literal["real", "simulated"] = "real"
    travel_purpose: Literal["dinas", "pribadi"] | None = None
    linked_request_id: UUID | None = None


class DecideCommand(Model):
    task_id: str
    decision: DecisionKind
    comment: str | None = None
    actor: str
    on_behalf_of: str | None = None
    dates: list[date] | None = Field(default=None, description="change: the dates granted, already judged")
    evaluation: Evaluation | None = Field(default=None, description="change: the pack's judgement of `dates`")
    defer_until: date | None = None


class CancelCommand(Model):
    actor: str
    reason: str | None = None


class ResubmitCommand(Model):
    actor: str
    dates: list[date]
    country: str | None = None
    personal: Sealed | None = None
    body_sha256: str
    evaluation: Evaluation


class Refused(Model):
    code: str
    message: str
    citations: list[Citation] = Field(default_factory=list)


class RequestSnapshot(Model):
    request_id: UUID
    status: str
    round: int
    current_tier: Tier | None = None
    current_task_id: str | None = None
    last_position: int = 0
    refusal: Refused | None = None
    version: int = Field(default=0, description="the version of the request's stream the workflow last wrote")


# --- activities ----------------------------------------------------------------------------------------


class EventDraft(Model):
    event_id: UUID
    stream_id: str
    type: str
    schema_version: int
    payload: dict[str, Any]
    occurred_at: datetime
    actor: str
    on_behalf_of: str | None = None
    correlation_id: str
    causation_id: str | None = None
    policy: dict[str, Any] | None = None
    clock: str = "real"


class AppendRequest(Model):
    events: list[EventDraft]
    expected: dict[str, int] = Field(default_factory=dict)


class AppendResult(Model):
    last_position: int
    last_version: int


class QuotaClaim(Model):
    quota: str
    amount: int
    limit: int
    citation: Citation | None = None


class QuotaRequest(Model):
    request_id: UUID
    round: int
    sequence: int = Field(description="the workflow's count of quota operations; makes event ids unique")
    operation: Literal["reserve", "release", "consume"]
    claims: list[QuotaClaim]
    reason: str = ""
    occurred_at: datetime
    actor: str
    correlation_id: str
    policy: dict[str, Any] | None = None
    clock: str = "real"


class QuotaResult(Model):
    ok: bool
    refused_quota: str | None = None
    refused_citation: Citation | None = None
    used: int = 0
    limit: int = 0
    last_position: int = 0


class EscalationQuery(Model):
    region: str
    tier: Tier
    assignee_nip: str
    requester_nip: str
    escalate_to: Literal["acting_official", "next_tier"]
    next_step_nip: str | None = None


class EscalationTarget(Model):
    to_nip: str
    to_tier: Tier
    reason: str
