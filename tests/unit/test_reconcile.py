"""How `lentur reconcile` reads a request's two sides, and which Updates it can re-send."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

from contracts.common import DecisionKind
from deploy.backup.reconcile import StoredEvent, classify, resend_for
from workflows.approval.models import CancelCommand, DecideCommand, RequestSnapshot

REQUEST = uuid4()
TASK = f"{REQUEST}-r1s0"


def event(version: int, type_: str, payload: dict[str, Any] | None = None, actor: str = "system") -> StoredEvent:
    return StoredEvent(
        version=version, position=100 + version, type=type_, actor=actor, on_behalf_of=None, payload=payload or {}
    )


STREAM = [event(1, "RequestSubmitted"), event(2, "RouteDetermined"), event(3, "TaskAssigned")]


def snapshot(version: int, status: str = "PENDING") -> RequestSnapshot:
    return RequestSnapshot(request_id=REQUEST, status=status, round=1, current_task_id=TASK, version=version)


def test_the_same_version_on_both_sides_is_ok() -> None:
    finding = classify(str(REQUEST), "PENDING", STREAM, snapshot(3))
    assert (finding.kind, finding.missing, finding.store_version, finding.workflow_version) == ("ok", [], 3, 3)


def test_events_the_workflow_lacks_are_listed_in_order() -> None:
    stream = [*STREAM, event(4, "DecisionRecorded"), event(5, "TaskAssigned")]
    finding = classify(str(REQUEST), "PENDING", stream, snapshot(3))
    assert finding.kind == "store_ahead"
    assert finding.missing == ["DecisionRecorded", "TaskAssigned"]


def test_no_workflow_for_a_request_in_flight() -> None:
    finding = classify(str(REQUEST), "PENDING", STREAM, None, "tidak ada")
    assert (finding.kind, finding.workflow_version, finding.detail) == ("workflow_missing", None, "tidak ada")


def test_a_workflow_that_wrote_more_than_the_store_holds_is_an_audit_gap() -> None:
    finding = classify(str(REQUEST), "PENDING", STREAM, snapshot(5, "APPROVED"))
    assert finding.kind == "workflow_ahead"
    assert "5" in finding.detail and "3" in finding.detail
    unknown = classify(str(REQUEST), None, [], snapshot(3))
    assert unknown.kind == "workflow_ahead"


def test_a_decision_is_re_sent_as_the_approver_sent_it() -> None:
    recorded = StoredEvent(
        version=4,
        position=104,
        type="DecisionRecorded",
        actor="198001012000011001",
        on_behalf_of="197506201999081160",
        payload={"task_id": TASK, "decision": "defer", "comment": "Sedang ramai", "defer_until": "2026-03-02"},
    )
    assert resend_for(recorded) == (
        "decide",
        DecideCommand(
            task_id=TASK,
            decision=DecisionKind.DEFER,
            comment="Sedang ramai",
            actor="198001012000011001",
            on_behalf_of="197506201999081160",
            defer_until=date(2026, 3, 2),
        ),
    )


def test_a_cancellation_is_re_sent_by_its_requester() -> None:
    cancelled = event(4, "RequestCancelled", {"reason": "Batal"}, actor="199505042021012163")
    assert resend_for(cancelled) == ("cancel", CancelCommand(actor="199505042021012163", reason="Batal"))


def test_what_cannot_be_re_sent_says_why() -> None:
    changed = event(4, "DecisionRecorded", {"task_id": TASK, "decision": "change", "dates": ["2026-01-05"]})
    assert isinstance(resend_for(changed), str)
    resubmitted = event(4, "RequestResubmitted")
    reason = resend_for(resubmitted)
    assert isinstance(reason, str) and "RequestResubmitted" in reason
