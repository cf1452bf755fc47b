"""Who must be told about an event. Pure: the caller loads the request context and the directory slice.

The assignee of a task is told, and so is whoever may decide it for them: a Plt/Plh holding the post
(`acting_for`) and a delegate whose delegation covers the tier at that moment. The requester hears about
outcomes; the unit head hears that a member will be away; the superior hears about a missed duty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events import EventEnvelope
from services.notifications.context import RequestContext

TASK_ASSIGNED = "task_assigned"
TASK_REMINDED = "task_reminded"
TASK_ESCALATED = "task_escalated"
TASK_ESCALATED_AWAY = "task_escalated_away"
REQUEST_PROGRESSED = "request_progressed"
REQUEST_APPROVED = "request_approved"
REQUEST_REJECTED = "request_rejected"
REQUEST_RETURNED = "request_returned"
REQUEST_EXPIRED = "request_expired"
REQUEST_DEFERRED = "request_deferred"
UNIT_MEMBER_APPROVED = "unit_member_approved"
COMPLIANCE_MISSED = "compliance_missed"
COMPLIANCE_MISSED_SUPERIOR = "compliance_missed_superior"
DOCUMENT_ISSUED = "document_issued"

# What is worth a mail (and a chat message); everything is shown in-app.
MAIL_KINDS = frozenset(
    {
        TASK_ASSIGNED,
        TASK_REMINDED,
        TASK_ESCALATED,
        REQUEST_APPROVED,
        REQUEST_REJECTED,
        REQUEST_RETURNED,
        REQUEST_EXPIRED,
        REQUEST_DEFERRED,
        COMPLIANCE_MISSED,
        COMPLIANCE_MISSED_SUPERIOR,
    }
)
# What an approver who chose the daily digest gets once a day instead of one mail each.
DIGEST_KINDS = frozenset({TASK_ASSIGNED, TASK_REMINDED})

NOTIFIED_TYPES = frozenset(
    {
        "TaskAssigned",
        "TaskReminded",
        "TaskEscalated",
        "DecisionRecorded",
        "RequestApproved",
        "RequestRejected",
        "RequestReturned",
        "RequestExpired",
        "RequestDeferred",
        "ComplianceMissed",
        "DocumentIssued",
    }
)


@dataclass(frozen=True)
class Contact:
    nip: str
    name: str
    region: str
    opd_code: str
    opd_name: str
    unit_code: str
    unit_name: str
    roles: tuple[str, ...] = ()
    acting_for: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Delegation:
    holder_nip: str
    delegate_nip: str
    tiers: tuple[str, ...]
    valid_from: datetime
    valid_to: datetime
    revoked: bool = False

    def covers(self, tier: str, at: datetime) -> bool:
        return not self.revoked and tier in self.tiers and self.valid_from <= at < self.valid_to


@dataclass
class DirectoryView:
    people: dict[str, Contact] = field(default_factory=dict)
    delegations: list[Delegation] = field(default_factory=list)

    def acting_for(self, holder: str) -> list[str]:
        return sorted(p.nip for p in self.people.values() if p.acting_for == holder)

    def unit_head(self, region: str, unit_code: str) -> str | None:
        heads = sorted(
            (p.acting_for is not None, p.nip)
            for p in self.people.values()
            if p.region == region and p.unit_code == unit_code and "unit_head" in p.roles
        )
        return heads[0][1] if heads else None

    def name(self, nip: str | None, fallback: str | None = None) -> str:
        if nip is None:
            return fallback or "-"
        person = self.people.get(nip)
        return person.name if person else (fallback or nip)


@dataclass(frozen=True)
class Notice:
    recipient: str
    kind: str
    role: str  # assignee | acting | delegate | escalation | requester | unit_head | superior
    holder: str | None = None  # whose task this is, when the recipient is told as a stand-in


def _task_people(holder: str, tier: str, at: datetime, view: DirectoryView) -> list[tuple[str, str]]:
    people = [(holder, "assignee")]
    people += [(nip, "acting") for nip in view.acting_for(holder)]
    people += [(d.delegate_nip, "delegate") for d in view.delegations if d.holder_nip == holder and d.covers(tier, at)]
    return people


def recipients_for(event: EventEnvelope, context: RequestContext | None, view: DirectoryView) -> list[Notice]:
    """Everyone to tell about `event`, each once per kind; never the requester about their own task."""
    p: dict[str, Any] = event.payload
    requester = context.requester_nip if context else (p.get("nip") or p.get("requester_nip"))
    notices: list[Notice] = []

    def add(nip: str | None, kind: str, role: str, holder: str | None = None) -> None:
        if nip:
            notices.append(Notice(nip, kind, role, holder if holder != nip else None))

    if event.type in ("TaskAssigned", "TaskReminded"):
        kind = TASK_ASSIGNED if event.type == "TaskAssigned" else TASK_REMINDED
        tier = p.get("tier") or (context.tasks[p["task_id"]].tier if context and p["task_id"] in context.tasks else "")
        for nip, role in _task_people(p["assignee_nip"], tier, event.occurred_at, view):
            if nip != requester:
                add(nip, kind, role, p["assignee_nip"])
    elif event.type == "TaskEscalated":
        if p["to_tier"] == p["tier"] and p["to_nip"] != requester:
            add(p["to_nip"], TASK_ESCALATED, "escalation", p["from_nip"])
        add(p["from_nip"], TASK_ESCALATED_AWAY, "assignee")
    elif event.type == "DecisionRecorded":
        last_step = context is not None and p["step"] + 1 >= context.step_count()
        if p["decision"] == "approve" and not last_step:
            add(requester, REQUEST_PROGRESSED, "requester")
    elif event.type == "RequestApproved":
        add(requester, REQUEST_APPROVED, "requester")
        if context is not None:
            head = view.unit_head(context.region, context.unit_code)
            if head != requester:
                add(head, UNIT_MEMBER_APPROVED, "unit_head")
    elif event.type == "RequestRejected":
        add(requester, REQUEST_REJECTED, "requester")
    elif event.type == "RequestReturned":
        add(requester, REQUEST_RETURNED, "requester")
    elif event.type == "RequestExpired":
        add(requester, REQUEST_EXPIRED, "requester")
    elif event.type == "RequestDeferred":
        add(requester, REQUEST_DEFERRED, "requester")
    elif event.type == "ComplianceMissed":
        add(p.get("nip") or p.get("requester_nip"), COMPLIANCE_MISSED, "requester")
        add(p["superior_nip"], COMPLIANCE_MISSED_SUPERIOR, "superior")
    elif event.type == "DocumentIssued" and p.get("kind") != "formulir_cuti":
        # the leave form is filed with the request; the requester hears of the outcome and the letter already
        add(requester, DOCUMENT_ISSUED, "requester")

    unique: dict[tuple[str, str], Notice] = {}
    for notice in notices:
        unique.setdefault((notice.recipient, notice.kind), notice)
    return list(unique.values())
