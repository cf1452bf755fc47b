"""The event envelope and every event type Lentur records.

Events are facts: they are never updated or deleted. A payload model's `schema_version` is bumped when its
shape changes, and an upcaster in `contracts.upcasting` lifts old payloads when they are read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import (
    Citation,
    DecisionKind,
    PolicyRef,
    RequestKind,
    Tier,
    TravelPurpose,
)
from contracts.evaluation import (
    ApprovalTimers,
    LeaveDebit,
    Obligation,
    RouteStep,
    UnitDailyCap,
)

ClockMode = Literal["real", "simulated"]
SYSTEM_ACTOR = "system"


class EventEnvelope(BaseModel):
    """One stored event, exactly as an inspector sees it."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    stream_id: str
    version: int
    position: int
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime | None = None
    actor: str
    on_behalf_of: str | None = None
    correlation_id: str
    causation_id: str | None = None
    policy: PolicyRef | None = None
    clock: ClockMode = "real"
    payload: dict[str, Any]
    content_hash: str
    prev_hash: str | None
    hash: str
    chain_hash: str


class Sealed(BaseModel):
    """Personal data encrypted under a per-person key; destroying the key erases it without touching hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kid: str
    nonce: str
    ct: str


class EventPayload(BaseModel):
    """Base of every typed payload. `TYPE` is the stored `type`; `SCHEMA_VERSION` its current shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


# --- requests -----------------------------------------------------------------------------------------


class RequestSubmitted(EventPayload):
    TYPE = "RequestSubmitted"
    request_id: UUID
    requester_nip: str
    requester_name: str
    region: str
    opd_code: str
    unit_code: str
    kind: RequestKind
    dates: list[date]
    country: str | None = None
    personal: Sealed | None = Field(default=None, description="reason, work plan and location text, sealed")
    body_sha256: str
    idempotency_key_sha256: str | None = None
    travel_purpose: TravelPurpose | None = Field(default=None, description="IZIN_LUAR_NEGERI: dinas or pribadi")
    linked_request_id: UUID | None = Field(
        default=None, description="a personal trip abroad and the leave for its working days name each other"
    )


class RouteDetermined(EventPayload):
    TYPE = "RouteDetermined"
    request_id: UUID
    round: int = 1
    timezone: str
    route: list[RouteStep]
    caps: list[UnitDailyCap] = Field(default_factory=list)
    leave_debit: LeaveDebit | None = None
    obligations: list[Obligation] = Field(default_factory=list)
    timers: ApprovalTimers = ApprovalTimers()
    resubmit_from: Literal["first_tier", "returning_tier"] = "first_tier"
    working_days: int = 0
    citations: list[Citation] = Field(default_factory=list)


class TaskAssigned(EventPayload):
    TYPE = "TaskAssigned"
    task_id: str
    request_id: UUID
    round: int
    step: int
    tier: Tier
    action: Literal["recommend", "approve"] = "approve"
    assignee_nip: str
    assignee_name: str | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None


class TaskReminded(EventPayload):
    TYPE = "TaskReminded"
    task_id: str
    request_id: UUID
    assignee_nip: str
    reminder: int = 1


class TaskEscalated(EventPayload):
    TYPE = "TaskEscalated"
    task_id: str
    request_id: UUID
    tier: Tier
    from_nip: str
    to_nip: str
    to_tier: Tier
    reason: str
    citation: Citation | None = None


class DecisionRecorded(EventPayload):
    TYPE = "DecisionRecorded"
    task_id: str
    request_id: UUID
    round: int
    step: int
    tier: Tier
    decision: DecisionKind
    comment: str | None = None
    dates: list[date] | None = Field(default=None, description="the dates granted (or proposed) by a change")
    defer_until: date | None = Field(default=None, description="until when a defer postpones the leave")
    binding: bool = Field(default=False, description="whether this tier's consideration was binding")


class RequestDatesChanged(EventPayload):
    """A *perubahan* accepted by the PYBMC: from now on the request carries the granted dates."""

    TYPE = "RequestDatesChanged"
    request_id: UUID
    round: int
    tier: Tier
    dates: list[date]
    previous_dates: list[date]
    working_days: int


class RequestDeferred(EventPayload):
    """The PYBMC's *ditangguhkan*: annual leave postponed; its days are usable next year (a final status)."""

    TYPE = "RequestDeferred"
    request_id: UUID
    round: int
    tier: Tier
    defer_until: date
    reason: str
    dates: list[date]
    working_days: int


class RequestReturned(EventPayload):
    TYPE = "RequestReturned"
    request_id: UUID
    round: int
    tier: Tier
    comment: str


class RequestResubmitted(EventPayload):
    TYPE = "RequestResubmitted"
    request_id: UUID
    round: int
    dates: list[date]
    country: str | None = None
    personal: Sealed | None = None
    body_sha256: str


class RequestApproved(EventPayload):
    TYPE = "RequestApproved"
    request_id: UUID
    round: int
    final_tier: Tier


class RequestRejected(EventPayload):
    TYPE = "RequestRejected"
    request_id: UUID
    round: int
    tier: Tier | None = None
    code: str = "rejected_by_approver"
    reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)


class RequestCancelled(EventPayload):
    TYPE = "RequestCancelled"
    request_id: UUID
    round: int
    after_approval: bool = False
    reason: str | None = None


class RequestExpired(EventPayload):
    TYPE = "RequestExpired"
    request_id: UUID
    round: int
    first_day: date


# --- quotas and balances -----------------------------------------------------------------------------


class QuotaReserved(EventPayload):
    """A slot taken from a counted resource: a unit's daily cap, or annual-leave days."""

    TYPE = "QuotaReserved"
    quota: str = Field(description="e.g. 'unit-cap:<unit>:<date>' or 'annual-leave:<nip>:<year>'")
    request_id: UUID
    amount: int
    used_after: int
    limit: int
    citation: Citation | None = None


class QuotaReleased(EventPayload):
    TYPE = "QuotaReleased"
    quota: str
    request_id: UUID
    amount: int
    used_after: int
    limit: int
    reason: str


class QuotaConsumed(EventPayload):
    """Reserved annual leave becomes taken leave when the request is approved."""

    TYPE = "QuotaConsumed"
    quota: str
    request_id: UUID
    amount: int


# --- duties during approved days ---------------------------------------------------------------------


class DutiesScheduled(EventPayload):
    """The duties an approved request (or a piket roster) carries, each with its window or deadline."""

    TYPE = "DutiesScheduled"
    subject: str = Field(description="'request:<uuid>' or 'piket:<uuid>'")
    request_id: UUID | None = None
    region: str
    opd_code: str
    unit_code: str
    timezone: str
    duties: list[dict[str, Any]]


class CheckInRecorded(EventPayload):
    TYPE = "CheckInRecorded"
    subject: str
    request_id: UUID | None = None
    duty_id: str
    nip: str
    day: date
    window: str
    late: bool = False
    location: Sealed | None = None
    precision_decimals: int | None = None


class ActivityReportSubmitted(EventPayload):
    TYPE = "ActivityReportSubmitted"
    subject: str
    request_id: UUID | None = None
    duty_id: str
    nip: str
    day: date | None
    report_kind: Literal["activity", "performance"]
    late: bool = False
    text: Sealed | None = None
    attachment_sha256: str | None = None
    attachment_name: str | None = None
    attachment_bytes: int | None = None


class ComplianceMissed(EventPayload):
    TYPE = "ComplianceMissed"
    subject: str
    request_id: UUID | None = None
    duty_id: str
    nip: str
    day: date
    duty: str
    superior_nip: str
    task_id: str
    citation: Citation | None = None


class ComplianceAcknowledged(EventPayload):
    TYPE = "ComplianceAcknowledged"
    task_id: str
    duty_id: str
    comment: str | None = None


class PiketRosterSet(EventPayload):
    """Who keeps the office on a cuti bersama piket day (Bitung SE: 26–27 Dec 2025)."""

    TYPE = "PiketRosterSet"
    roster_id: UUID
    region: str
    opd_code: str
    unit_code: str
    day: date
    nips: list[str]
    citation: Citation | None = None
    supersedes: UUID | None = Field(
        default=None, description="the earlier roster of the same unit and day that this one replaces"
    )


# --- delegation, directory, policy -------------------------------------------------------------------


class DelegationGranted(EventPayload):
    TYPE = "DelegationGranted"
    delegation_id: UUID
    holder_nip: str
    delegate_nip: str
    tiers: list[Tier]
    valid_from: datetime
    valid_to: datetime


class DelegationRevoked(EventPayload):
    TYPE = "DelegationRevoked"
    delegation_id: UUID
    holder_nip: str
    delegate_nip: str


class DirectoryImported(EventPayload):
    TYPE = "DirectoryImported"
    sha256: str
    rows: int
    people: list[dict[str, Any]]
    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class PolicyPackPublished(EventPayload):
    TYPE = "PolicyPackPublished"
    pack_id: str
    version: str
    sha256: str
    region: str | None
    text: str


class CheckpointSigned(EventPayload):
    """The global chain's hash at `up_to_position`, signed (see services/audit/signing.py for the bytes).

    v2 names the signature algorithm, so a later key type can sit beside Ed25519 (v1 was Ed25519 only).
    """

    TYPE = "CheckpointSigned"
    SCHEMA_VERSION = 2
    up_to_position: int
    chain_hash: str
    algorithm: Literal["ed25519"]
    key_id: str
    public_key: str = Field(description="base64 of the 32-byte Ed25519 public key")
    signature: str = Field(description="base64 Ed25519 signature over 'lentur-checkpoint|<position>|<hash>'")


class AuditAccessed(EventPayload):
    """An inspector or admin read the audit log: who looked at what is itself part of the record."""

    TYPE = "AuditAccessed"
    access: Literal["request", "search", "verify", "export", "replay"]
    region: str
    request_id: UUID | None = None
    query: dict[str, str] = Field(default_factory=dict)
    results: int = 0


class DocumentIssued(EventPayload):
    TYPE = "DocumentIssued"
    document_id: str
    request_id: UUID
    kind: str
    number: str
    sha256: str
    signer_nip: str
    signer_name: str
    signer_title: str
    on_behalf_of: str | None = None


class DocumentRevoked(EventPayload):
    TYPE = "DocumentRevoked"
    document_id: str
    request_id: UUID
    reason: str


class NotificationPreferencesSet(EventPayload):
    """How a person wants to be told: e-mail, the chat gateway (webhook), and a daily digest for tasks."""

    TYPE = "NotificationPreferencesSet"
    nip: str
    email: bool = True
    webhook: bool = False
    digest: bool = False


class AttachmentRef(BaseModel):
    """A supporting document as the log knows it: its hash and size; the content is stored sealed elsewhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_id: UUID
    name: str
    media_type: str
    size: int
    sha256: str


class LeaveAttachmentsStored(EventPayload):
    """The supporting documents a leave request carries from this round on (the whole set, kept and new)."""

    TYPE = "LeaveAttachmentsStored"
    request_id: UUID
    round: int = 1
    region: str | None = Field(default=None, description="the requester's, for the inspector's index")
    attachments: list[AttachmentRef]


class ExternalApprovalRecorded(EventPayload):
    """An outside authority's consideration recorded by the region's admin (BKN's for a CLTN)."""

    TYPE = "ExternalApprovalRecorded"
    request_id: UUID
    authority: str
    number: str
    date: date
    document_sha256: str
    document: AttachmentRef | None = None


class PersonalDataErased(EventPayload):
    """Keys destroyed after retention; the ciphertext stays so every hash still verifies."""

    TYPE = "PersonalDataErased"
    key_ids: list[str]
    reason: str
    region: str | None = None


EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.TYPE: cls
    for cls in (
        RequestSubmitted,
        RouteDetermined,
        TaskAssigned,
        TaskReminded,
        TaskEscalated,
        DecisionRecorded,
        RequestDatesChanged,
        RequestDeferred,
        RequestReturned,
        RequestResubmitted,
        RequestApproved,
        RequestRejected,
        RequestCancelled,
        RequestExpired,
        QuotaReserved,
        QuotaReleased,
        QuotaConsumed,
        DutiesScheduled,
        CheckInRecorded,
        ActivityReportSubmitted,
        ComplianceMissed,
        ComplianceAcknowledged,
        PiketRosterSet,
        DelegationGranted,
        DelegationRevoked,
        DirectoryImported,
        PolicyPackPublished,
        CheckpointSigned,
        AuditAccessed,
        DocumentIssued,
        DocumentRevoked,
        NotificationPreferencesSet,
        PersonalDataErased,
        LeaveAttachmentsStored,
        ExternalApprovalRecorded,
    )
}


def attachments_stream(request_id: UUID | str) -> str:
    """Supporting documents of a request: their own stream, since the workflow alone writes the request's."""
    return f"leave-attachments-{request_id}"


def external_approvals_stream(request_id: UUID | str) -> str:
    return f"external-approvals-{request_id}"


def request_stream(request_id: UUID | str) -> str:
    return f"request-{request_id}"


def parse_payload(event_type: str, payload: dict[str, Any]) -> EventPayload:
    """Typed view of a stored payload (after upcasting)."""
    return EVENT_TYPES[event_type].model_validate(payload)
