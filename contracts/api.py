"""Shapes of the HTTP API (DESIGN.md is the contract; black-box tests drive these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from contracts.common import (
    MAX_DATES,
    Citation,
    DateList,
    Day,
    DecisionKind,
    Location,
    LongText,
    Nip,
    OptionalText,
    PolicyRef,
    RequestKind,
    Tier,
    TravelPurpose,
)

Comment = OptionalText
# Empty is refused by the service with its own code (dates_required), not by the schema.
DecisionDates = Annotated[list[Day], Field(max_length=92)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DevTokenIn(Body):
    nip: Nip


class TokenOut(BaseModel):
    access_token: str
    token: str = Field(description="the same bearer token, for clients that look for this name")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    nip: str
    name: str
    roles: list[str]


AddressText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
PhoneText = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{4,24}$")]
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
# base64 of 2 MB is 2.8 M characters; longer strings are refused here, shorter oversized files by the service.
Base64Text = Annotated[str, StringConstraints(max_length=4 * 1024 * 1024)]


class LeaveDetailsIn(Body):
    """Where the person can be reached during leave (the form's "alamat selama menjalankan cuti")."""

    address: AddressText
    phone: PhoneText
    remote_place: bool = Field(
        default=False, description="CUTI_TAHUNAN spent in a place hard to reach (tempat yang sulit perhubungannya)"
    )
    extra_days: int = Field(
        default=0,
        ge=0,
        le=366,
        description="calendar days of travel after the last leave day, for a remote place; not debited",
    )

    @model_validator(mode="after")
    def _extra_days_need_remote_place(self) -> LeaveDetailsIn:
        if self.extra_days and not self.remote_place:
            raise ValueError("extra_days hanya untuk cuti di tempat yang sulit perhubungannya (remote_place)")
        return self


class AttachmentIn(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    content_base64: Base64Text


class SubmitRequestIn(Body):
    kind: RequestKind
    dates: DateList
    location: Location | None = None
    reason: LongText
    work_plan: LongText | None = None
    travel_purpose: TravelPurpose | None = Field(
        default=None, description="IZIN_LUAR_NEGERI only (and required there): dinas or pribadi"
    )
    linked_request_id: UUID | None = Field(
        default=None,
        description="a personal trip abroad and the leave that covers its working days name each other",
    )
    leave: LeaveDetailsIn | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)

    @field_validator("dates")
    @classmethod
    def _dates_within_kind(cls, dates: list[date], info: ValidationInfo) -> list[date]:
        # only a CLTN may run past 92 days (three years); `kind` is validated before `dates`
        if info.data.get("kind") != RequestKind.CLTN and len(dates) > MAX_DATES:
            raise ValueError(f"paling banyak {MAX_DATES} tanggal per pengajuan")
        return dates


class ExternalApprovalIn(Body):
    """BKN's technical consideration that a CLTN needs before its PYBMC may grant it."""

    authority: Literal["BKN"]
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    date: date
    document: AttachmentIn


class AttachmentOut(BaseModel):
    id: UUID
    name: str
    media_type: str
    size: int
    sha256: str
    url: str


class ExternalApprovalOut(BaseModel):
    request_id: UUID
    authority: str
    number: str
    date: date
    document_sha256: str
    document_url: str
    recorded_by: str
    recorded_at: datetime


class CancelIn(Body):
    reason: Comment | None = None


class DecisionIn(Body):
    decision: DecisionKind
    comment: Comment | None = None
    dates: DecisionDates | None = Field(default=None, description="change (perubahan): the dates granted")
    defer_until: Day | None = Field(default=None, description="defer (ditangguhkan): until when, at most a year on")


TASK_ID_PATTERN = r"^[0-9a-f-]{36}-r\d+s\d+$"


class BulkDecisionItem(Body):
    task_id: Annotated[str, StringConstraints(max_length=60, pattern=TASK_ID_PATTERN)]
    decision: DecisionKind
    comment: Comment | None = None
    dates: DecisionDates | None = None
    defer_until: Day | None = None


class BulkDecisionIn(Body):
    items: Annotated[list[BulkDecisionItem], Field(min_length=1, max_length=100)]


class DelegationIn(Body):
    delegate_nip: Nip
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=3)]
    from_: datetime = Field(alias="from")
    to: datetime
    holder_nip: Nip | None = Field(default=None, description="admins may delegate on behalf of a holder")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RouteStepOut(BaseModel):
    step: int
    tier: Tier
    action: str
    approver_nip: str
    approver_name: str
    on_behalf_of: str | None = None
    citation: Citation
    binding: bool = Field(default=False, description="a leave consideration whose refusal ends the request")
    binding_citation: Citation | None = None


class DecisionOut(BaseModel):
    task_id: str
    round: int
    tier: Tier
    decision: DecisionKind
    comment: str | None = None
    dates: list[date] | None = Field(default=None, description="change: the dates granted (or proposed)")
    defer_until: date | None = Field(default=None, description="defer: until when")
    binding: bool = Field(default=False, description="a binding consideration before the PYBMC")
    actor: str = Field(description="NIP of who decided")
    actor_name: str | None = None
    on_behalf_of: str | None = Field(
        default=None, description="NIP of the post holder when a Plt/Plh or delegate acted"
    )
    on_behalf_of_name: str | None = None
    decided_at: datetime


class RefusalOut(BaseModel):
    code: str
    message: str | None = None
    citations: list[Citation] = Field(default_factory=list)


class NoticeOut(BaseModel):
    """Something the requester must still do, with the clause that says so (e.g. leave for a trip's working days)."""

    code: str
    message: str
    working_days: list[date] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


class RequestOut(BaseModel):
    id: UUID
    status: str
    kind: RequestKind
    dates: list[date]
    location: dict[str, Any] | None = None
    reason: str | None = None
    work_plan: str | None = None
    travel_purpose: TravelPurpose | None = None
    linked_request_id: UUID | None = Field(
        default=None, description="the request this one is linked with, whichever of the two named the other"
    )
    notices: list[NoticeOut] = Field(default_factory=list)
    requester: dict[str, Any]
    route: list[Tier]
    route_steps: list[RouteStepOut]
    current_tier: Tier | None
    current_task_id: str | None = None
    round: int
    policy: PolicyRef | None
    citations: list[Citation]
    decisions: list[DecisionOut]
    refusal: RefusalOut | None = None
    leave_debit: dict[str, Any] | None = None
    obligations: list[dict[str, Any]] = Field(default_factory=list)
    timezone: str | None = None
    clock: str
    submitted_at: datetime
    updated_at: datetime
    submitted_at_local: str | None = None
    leave: dict[str, Any] | None = Field(
        default=None, description="address and phone during leave; CUTI_TAHUNAN also remote_place and extra_days"
    )
    attachments: list[AttachmentOut] = Field(default_factory=list)
    external_approvals: list[ExternalApprovalOut] = Field(default_factory=list)


class UnitLoadDay(BaseModel):
    date: date
    unit_size: int
    WFO: int
    WFH: int
    WFA: int
    CUTI: int


class LeaveBalanceOut(BaseModel):
    year: int
    entitlement: int | None
    reserved: int
    used: int
    available: int | None


class AnnualLeaveRecordOut(BaseModel):
    """The leave record N-2/N-1/N in working days (PP 11/2017; the form's CATATAN CUTI)."""

    n: int = Field(description="this year's own right, after cuti bersama where its Keppres deducts it")
    n1: int = Field(description="carried from the year before")
    n2: int = Field(description="carried from two years before")
    deferred: int = Field(description="days a PYBMC deferred from the year before into this one")
    used: int
    pending: int
    available: int


class LeaveRecordOut(BaseModel):
    nip: str
    year: int
    annual: AnnualLeaveRecordOut


class TaskOut(BaseModel):
    task_id: str
    request_id: UUID
    kind: RequestKind
    dates: list[date]
    tier: Tier
    action: str
    round: int
    requester: dict[str, Any]
    assignee_nip: str
    on_behalf_of: str | None = None
    via: Literal["direct", "acting", "delegation", "escalation"]
    assigned_at: datetime
    assigned_at_local: str | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    overdue: bool
    reminders: int
    balance: LeaveBalanceOut | None = None
    leave_record: AnnualLeaveRecordOut | None = Field(
        default=None, description="leave kinds: the requester's N-2/N-1/N record for the year of the first day"
    )
    unit_load: list[UnitLoadDay]


class BulkItemResult(BaseModel):
    task_id: str
    ok: bool
    status: int
    code: str | None = None
    detail: str | None = None
    request: RequestOut | None = None


class BulkDecisionOut(BaseModel):
    results: list[BulkItemResult]
    succeeded: int
    failed: int


class DelegationOut(BaseModel):
    id: UUID
    holder_nip: str
    delegate_nip: str
    tiers: list[Tier]
    valid_from: datetime
    valid_to: datetime


class DirectoryImportOut(BaseModel):
    sha256: str
    rows: int
    added: int
    changed: int
    removed: int
    unchanged: bool
    position: int | None = None


class AuditEventOut(BaseModel):
    position: int
    event_id: UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime | None
    actor: str
    on_behalf_of: str | None
    correlation_id: str
    causation_id: str | None
    policy: PolicyRef | None
    clock: str
    payload: dict[str, Any]
    content_hash: str
    prev_hash: str | None
    hash: str
    chain_hash: str


class VerifyOut(BaseModel):
    ok: bool
    events_checked: int
    first_bad_position: int | None = None
    reason: str | None = None
    streams_checked: int = 0
    checkpoints_checked: int = 0
    head_position: int = 0
    head_chain_hash: str | None = None
    last_checkpoint: dict[str, Any] | None = None
    signers: list[dict[str, Any]] = Field(
        default_factory=list, description="keys that signed checkpoints: key_id, public_key, trusted, checkpoints"
    )
    suspect_range: list[int] | None = Field(
        default=None, description="positions a checkpoint mismatch points at: after the last good checkpoint"
    )
    redacted_events: int = 0
    warnings: list[str] = Field(default_factory=list)


class CheckpointOut(BaseModel):
    position: int = Field(description="where the checkpoint event itself is in the log")
    up_to_position: int
    chain_hash: str
    algorithm: str
    key_id: str
    public_key: str
    signature: str
    created: bool = Field(description="false when nothing happened since the previous checkpoint")


class AuditKeyOut(BaseModel):
    key_id: str
    public_key: str
    signing: bool = Field(description="the key this service signs checkpoints with now")


class AuditIndexItemOut(BaseModel):
    position: int
    stream_id: str
    type: str
    actor: str
    on_behalf_of: str | None
    request_id: UUID | None
    region: str | None
    opd_code: str | None
    subject_nip: str | None
    occurred_at: datetime
    occurred_at_local: str


class ReplayPersonOut(BaseModel):
    nip: str | None
    name: str | None


class ReplayEntryOut(BaseModel):
    position: int
    type: str
    at: datetime
    at_local: str
    actor: ReplayPersonOut
    on_behalf_of: ReplayPersonOut | None
    text: str
    tier: str | None = None
    decision: str | None = None
    comment: str | None = None
    policy: dict[str, Any] | None = None
    citation: dict[str, Any] | None = None
    citations: list[dict[str, Any]] = Field(default_factory=list)


class ReplayRequestOut(BaseModel):
    request_id: UUID
    status: str | None
    summary: str
    requester: ReplayPersonOut
    kind: str | None
    dates: list[str]
    timezone: str | None
    policy: dict[str, Any] | None
    current_tier: str | None
    decisions: list[ReplayEntryOut]
    timeline: list[ReplayEntryOut]


class ReplayOut(BaseModel):
    as_of: datetime | None
    position: int = Field(description="the last event folded: the state is the log up to here")
    events: int
    request: ReplayRequestOut | None = None
    requests: list[dict[str, Any]] = Field(default_factory=list, description="overview of the region's requests")
