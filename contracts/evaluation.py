"""What the policy evaluator is given and what it answers.

The evaluator is pure: the caller gathers the requester, the draft, the directory, the calendar and the
current usage, and gets back either a route (with constraints and duties) or a refusal citing its clause.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from contracts.common import (
    Citation,
    DateList,
    Frozen,
    KindSet,
    Location,
    LongText,
    Nip,
    PolicyRef,
    RequestKind,
    Tier,
    TravelPurpose,
)


class RequestDraft(Frozen):
    """What an ASN asks for (the body of POST /api/requests, minus transport details)."""

    kind: RequestKind
    dates: DateList
    location: Location | None = None
    reason: LongText
    work_plan: LongText | None = None
    travel_purpose: TravelPurpose | None = None
    attachments: int = Field(default=0, ge=0, description="supporting documents attached (already checked)")
    extra_days: int = Field(
        default=0, ge=0, description="annual leave in a place hard to reach: calendar days of travel asked for"
    )


class UsageSnapshot(Frozen):
    """Facts about current usage that the rules compare against, read from projections at submit time."""

    unit_flexible_by_date: dict[date, int] = Field(
        default_factory=dict, description="approved WFH/WFA requests in the requester's unit, per date"
    )
    own_approved_dates: dict[date, RequestKind] = Field(
        default_factory=dict, description="dates the requester already has an approved request for"
    )
    own_pending_flexible_dates: frozenset[date] = frozenset()
    annual_leave_used: dict[int, int] = Field(
        default_factory=dict, description="year -> annual-leave working days approved or reserved"
    )
    annual_leave_deferred: dict[int, int] = Field(
        default_factory=dict, description="year -> annual-leave days a PYBMC deferred into that year"
    )
    cuti_besar_years: frozenset[int] = Field(
        default_factory=frozenset, description="years with cuti besar granted or in flight (no annual leave then)"
    )
    on_cltn: frozenset[str] = Field(
        default_factory=frozenset,
        description="NIPs of people whose approved CLTN covers one of the requested dates: their posts are vacant",
    )


class RouteStep(Frozen):
    tier: Tier
    approver_nip: Nip = Field(description="holder of the post; a Plt/Plh or delegate acts on their behalf")
    approver_name: str
    on_behalf_of: Nip | None = Field(
        default=None,
        description="set when the post is vacant and approver_nip is the Plt acting for this NIP",
    )
    action: Literal["recommend", "approve"] = "approve"
    citation: Citation
    binding: bool = Field(
        default=False, description="a leave consideration (pertimbangan) whose refusal ends the request"
    )
    binding_citation: Citation | None = None


class UnitDailyCap(Frozen):
    """At most `cap` people of the unit may be away on flexible work on each date; reserved at final approval."""

    unit_code: str
    kinds: KindSet
    cap: int
    unit_size: int
    dates: tuple[date, ...]
    citation: Citation


class LeaveDebit(Frozen):
    """Annual-leave working days this request takes; reserved on submit, consumed on approval."""

    year: int
    days: int
    entitlement: int
    available: int
    citation: Citation
    extra_days: int = Field(
        default=0,
        ge=0,
        description="calendar days of travel after the last leave day (a place hard to reach); never debited",
    )

    @model_serializer(mode="wrap")
    def _without_absent_extra_days(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A debit without travel days is recorded as before the field existed (RouteDetermined stays as it was).
        data: dict[str, Any] = handler(self)
        if not data.get("extra_days"):
            data.pop("extra_days", None)
        return data


class DutyWindow(Frozen):
    label: str
    start: time
    end: time


class Obligation(Frozen):
    """A duty on every approved day, e.g. a location check-in in the morning and the afternoon."""

    kind: Literal["location_checkin", "activity_report", "performance_report", "e_presensi"]
    windows: tuple[DutyWindow, ...] = ()
    deadline: time | None = None
    report_to: Tier = Tier.UNIT_HEAD
    location_precision_decimals: int | None = None
    retention_days: int | None = None
    cadence: Literal["daily", "once_after_last_day"] = Field(
        default="daily", description="every approved day, or one report after the last approved day"
    )
    citation: Citation


class ApprovalTimers(Frozen):
    remind_after: timedelta = timedelta(days=1)
    escalate_after: timedelta = timedelta(days=2)
    escalate_to: Literal["acting_official", "next_tier"] = "next_tier"


class Refusal(Frozen):
    code: str
    message: str
    citations: tuple[Citation, ...]


class Evaluation(Frozen):
    policy: PolicyRef
    timezone: str = Field(description="IANA zone of the region, e.g. Asia/Makassar for WITA")
    outcome: Literal["allowed", "refused"]
    refusal: Refusal | None = None
    route: tuple[RouteStep, ...] = ()
    caps: tuple[UnitDailyCap, ...] = ()
    leave_debit: LeaveDebit | None = None
    obligations: tuple[Obligation, ...] = ()
    timers: ApprovalTimers = ApprovalTimers()
    resubmit_from: Literal["first_tier", "returning_tier"] = "first_tier"
    working_days: int = 0
    citations: tuple[Citation, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"
