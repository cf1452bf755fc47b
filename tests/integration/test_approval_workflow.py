"""Every path of the approval workflow on the real Temporal dev server and the real store.

Timers are configured in seconds (the time-skipping server is not available here). Each path's history is
recorded as a replay fixture with LENTUR_RECORD_HISTORIES=1 (see test_workflow_replay.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.common import DecisionKind, RequestKind, Tier
from contracts.evaluation import LeaveDebit, UnitDailyCap
from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.integration.workflow_harness import APPROVERS, REQUESTER, Harness, cite, evaluation, harness, record_history
from workflows.approval.models import CancelCommand, DecideCommand, RequesterRef, RequestSnapshot, ResubmitCommand
from workflows.approval.workflow import ApprovalWorkflow

pytestmark = pytest.mark.integration
UNIT_HEAD, OPD_HEAD, PPK = (APPROVERS[t][0] for t in (Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK))


@pytest.fixture(scope="module")
async def h(infra: InfraAddresses) -> AsyncIterator[Harness]:
    async with harness(infra.temporal_address, await create_database(infra)) as running:
        yield running


async def decide(
    handle,
    snapshot: RequestSnapshot,
    actor: str,
    decision: str = "approve",
    comment: str | None = None,
    on_behalf_of: str | None = None,
) -> RequestSnapshot:
    assert snapshot.current_task_id
    return await handle.execute_update(
        ApprovalWorkflow.decide,
        DecideCommand(
            task_id=snapshot.current_task_id,
            decision=DecisionKind(decision),
            comment=comment,
            actor=actor,
            on_behalf_of=on_behalf_of,
        ),
        result_type=RequestSnapshot,
    )


async def test_approve_path(h: Harness) -> None:
    handle, s = await h.start(evaluation((Tier.UNIT_HEAD, Tier.OPD_HEAD, Tier.PPK)), kind=RequestKind.WFA)
    assert s.status == "PENDING" and s.current_tier == Tier.UNIT_HEAD
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD)
    assert s.current_tier == Tier.PPK
    s = await decide(handle, s, PPK)
    assert s.status == "APPROVED"
    assert await h.events(handle) == [
        "RequestSubmitted",
        "RouteDetermined",
        "TaskAssigned",
        "DecisionRecorded",
        "TaskAssigned",
        "DecisionRecorded",
        "TaskAssigned",
        "DecisionRecorded",
        "RequestApproved",
    ]
    await record_history(handle, "approve")


async def test_reject_path_releases_reserved_leave(h: Harness) -> None:
    # A leave refusal before the PYBMC ends the request only where the step is binding (or, in histories
    # recorded before leave considerations, always: reject.json replays that path).
    debit = LeaveDebit(year=2025, days=2, entitlement=12, available=12, citation=cite("leave"))
    requester = RequesterRef(**{**REQUESTER.model_dump(), "nip": "199301242015041167"})
    binding = evaluation(leave_debit=debit)
    first = binding.route[0].model_copy(update={"binding": True, "binding_citation": cite("binding")})
    handle, s = await h.start(
        binding.model_copy(update={"route": (first, *binding.route[1:])}),
        kind=RequestKind.CUTI_TAHUNAN,
        requester=requester,
        dates=[date(2025, 12, 29), date(2025, 12, 30)],
    )
    quota = await h.store.last_event("quota-annual-leave:199301242015041167:2025")
    assert quota is not None and quota.type == "QuotaReserved" and quota.payload["used_after"] == 2
    s = await decide(handle, s, UNIT_HEAD, "reject", "Beban kerja akhir tahun")
    assert s.status == "REJECTED"
    quota = await h.store.last_event("quota-annual-leave:199301242015041167:2025")
    assert quota is not None and quota.type == "QuotaReleased" and quota.payload["used_after"] == 0
    assert (await h.events(handle))[-2:] == ["DecisionRecorded", "RequestRejected"]
    await record_history(handle, "reject")


async def test_validators_refuse_bad_commands_before_history(h: Harness) -> None:
    handle, s = await h.start(evaluation())
    for actor, decision, comment, code in [
        (OPD_HEAD, "approve", None, "not_assignee"),
        (REQUESTER.nip, "approve", None, "self_approval"),
        (UNIT_HEAD, "reject", None, "comment_required"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, s, actor, decision, comment)
        assert refused.value.cause.type == code  # type: ignore[union-attr]
    first = s
    s = await decide(handle, s, UNIT_HEAD)
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await decide(handle, first, UNIT_HEAD)
    assert again.value.cause.type == "already_decided"  # type: ignore[union-attr]
    history = await handle.fetch_history()
    rejected_updates = [e for e in history.events if e.HasField("workflow_execution_update_rejected_event_attributes")]
    assert rejected_updates == []  # validators reject before anything enters history


async def test_return_and_resubmit_restart_the_route(h: Harness) -> None:
    ev = evaluation((Tier.UNIT_HEAD, Tier.OPD_HEAD))
    handle, s = await h.start(ev)
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD, "return", "Lengkapi rencana kerja")
    assert s.status == "RETURNED" and s.current_tier is None
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            ApprovalWorkflow.resubmit,
            ResubmitCommand(actor=UNIT_HEAD, dates=[date(2025, 12, 31)], body_sha256="c" * 64, evaluation=ev),
        )
    s = await handle.execute_update(
        ApprovalWorkflow.resubmit,
        ResubmitCommand(actor=REQUESTER.nip, dates=[date(2025, 12, 31)], body_sha256="c" * 64, evaluation=ev),
        result_type=RequestSnapshot,
    )
    assert s.status == "PENDING" and s.round == 2 and s.current_tier == Tier.UNIT_HEAD
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD)
    assert s.status == "APPROVED"
    types = await h.events(handle)
    assert types.count("RouteDetermined") == 2 and types.count("DecisionRecorded") == 4
    assert "RequestReturned" in types and "RequestResubmitted" in types
    await record_history(handle, "return_resubmit")


async def test_cancel_before_decision_and_after_approval(h: Harness) -> None:
    handle, s = await h.start(evaluation())
    with pytest.raises(WorkflowUpdateFailedError) as stranger:
        await handle.execute_update(ApprovalWorkflow.cancel, CancelCommand(actor=UNIT_HEAD))
    assert stranger.value.cause.type == "not_requester"  # type: ignore[union-attr]
    s = await handle.execute_update(
        ApprovalWorkflow.cancel, CancelCommand(actor=REQUESTER.nip, reason="Batal"), result_type=RequestSnapshot
    )
    assert s.status == "CANCELLED"
    await record_history(handle, "cancel")

    handle, s = await h.start(evaluation())
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD)
    s = await handle.execute_update(
        ApprovalWorkflow.cancel, CancelCommand(actor=REQUESTER.nip), result_type=RequestSnapshot
    )
    assert s.status == "CANCELLED"
    assert (await h.events(handle))[-1] == "RequestCancelled"


async def test_cancel_after_the_first_day_started_is_refused(h: Harness) -> None:
    # Simulated clock 3 s before the first day starts (29 Dec 00:00 WITA).
    starts_soon = datetime(2025, 12, 28, 15, 59, 57, tzinfo=UTC)
    handle, s = await h.start(evaluation(), dates=[date(2025, 12, 29)], simulated_now=starts_soon)
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD)
    assert s.status == "APPROVED"
    await asyncio.sleep(4)
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(ApprovalWorkflow.cancel, CancelCommand(actor=REQUESTER.nip))
    assert late.value.cause.type == "cancel_too_late"  # type: ignore[union-attr]


async def test_reminder_then_escalation_to_the_next_tier(h: Harness) -> None:
    ev = evaluation(
        (Tier.UNIT_HEAD, Tier.OPD_HEAD), remind_after=timedelta(seconds=1), escalate_after=timedelta(seconds=3)
    )
    handle, s = await h.start(ev)
    types = await h.wait_for_event(handle, "TaskEscalated")
    assert types.index("TaskReminded") < types.index("TaskEscalated")
    s = await handle.query(ApprovalWorkflow.state, result_type=RequestSnapshot)
    assert s.current_tier == Tier.OPD_HEAD
    with pytest.raises(WorkflowUpdateFailedError):  # the stalled tier's task is gone
        await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideCommand(
                task_id=s.current_task_id.replace("s1", "s0"),
                decision=DecisionKind.APPROVE,  # type: ignore[union-attr]
                actor=UNIT_HEAD,
            ),
        )
    s = await decide(handle, s, OPD_HEAD)
    assert s.status == "APPROVED"
    await record_history(handle, "escalate")


async def test_expiry_when_the_first_day_passes_releases_quota(h: Harness) -> None:
    cap = UnitDailyCap(
        unit_code="DISHUB-U1",
        kinds=frozenset({RequestKind.WFH}),
        cap=1,
        unit_size=2,
        dates=(date(2025, 12, 29),),
        citation=cite("cap"),
    )
    debit = LeaveDebit(year=2025, days=1, entitlement=12, available=12, citation=cite("leave"))
    requester = RequesterRef(**{**REQUESTER.model_dump(), "nip": "198309122005032168"})
    ends_soon = datetime(2025, 12, 29, 15, 59, 57, tzinfo=UTC)  # 3 s before 30 Dec 00:00 WITA
    handle, s = await h.start(
        evaluation(caps=(cap,), leave_debit=debit),
        dates=[date(2025, 12, 29)],
        simulated_now=ends_soon,
        kind=RequestKind.CUTI_TAHUNAN,
        requester=requester,
    )
    result = await handle.result()
    assert result.status == "EXPIRED"
    assert (await h.events(handle))[-1] == "RequestExpired"
    quota = await h.store.last_event("quota-annual-leave:198309122005032168:2025")
    assert quota is not None and quota.type == "QuotaReleased"
    await record_history(handle, "expire")


async def test_unit_cap_is_never_exceeded_under_concurrent_final_approvals(h: Harness) -> None:
    day = date(2025, 12, 30)
    cap = UnitDailyCap(
        unit_code="CAP-UNIT", kinds=frozenset({RequestKind.WFH}), cap=3, unit_size=6, dates=(day,), citation=cite("cap")
    )
    ev = evaluation((Tier.UNIT_HEAD,), caps=(cap,))
    started = [
        await h.start(
            ev,
            dates=[day],
            requester=RequesterRef(
                **{**REQUESTER.model_dump(), "unit_code": "CAP-UNIT", "nip": f"19900101201501100{i}"}
            ),
        )
        for i in range(8)
    ]
    results = await asyncio.gather(*(decide(handle, s, UNIT_HEAD) for handle, s in started))
    approved = [r for r in results if r.status == "APPROVED"]
    refused = [r for r in results if r.status == "REJECTED"]
    assert len(approved) == 3 and len(refused) == 5
    assert all(r.refusal and r.refusal.code == "unit_cap_reached" and r.refusal.citations for r in refused)
    last = await h.store.last_event(f"quota-unit-cap:kendari:CAP-UNIT:{day.isoformat()}")
    assert last is not None and last.payload["used_after"] == 3


async def test_worker_restart_mid_approval_and_timers_firing_while_it_is_down(h: Harness) -> None:
    ev = evaluation(
        (Tier.UNIT_HEAD, Tier.OPD_HEAD), remind_after=timedelta(seconds=2), escalate_after=timedelta(days=2)
    )
    handle, s = await h.start(ev)
    s = await decide(handle, s, UNIT_HEAD)
    await h.stop_worker()
    await asyncio.sleep(3)  # the reminder timer fires while no worker is running
    await h.start_worker()
    await h.wait_for_event(handle, "TaskReminded")
    s = await handle.query(ApprovalWorkflow.state, result_type=RequestSnapshot)
    s = await decide(handle, s, OPD_HEAD)
    assert s.status == "APPROVED"
    assert (await h.events(handle)).count("TaskReminded") == 1


async def test_duties_are_scheduled_when_the_first_approved_day_starts(h: Harness) -> None:
    from contracts.evaluation import Obligation

    duty = Obligation(kind="activity_report", deadline=None, citation=cite("report"))
    ev = evaluation().model_copy(update={"obligations": (duty,)})
    starts_soon = datetime(2025, 12, 28, 15, 59, 56, tzinfo=UTC)  # 4 s before 29 Dec 00:00 WITA
    handle, s = await h.start(ev, dates=[date(2025, 12, 29)], simulated_now=starts_soon)
    s = await decide(handle, s, UNIT_HEAD)
    s = await decide(handle, s, OPD_HEAD)
    assert s.status == "APPROVED"
    stream = f"compliance-request-{s.request_id}"
    assert await h.store.read_stream(stream) == []  # nothing is scheduled before the day begins
    for _ in range(60):
        events = await h.store.read_stream(stream)
        if events:
            break
        await asyncio.sleep(0.25)
    assert [e.type for e in events] == ["DutiesScheduled"]
    assert [d["kind"] for d in events[0].payload["duties"]] == ["activity_report"]
    await record_history(handle, "approve_with_duties")
