"""The four leave decisions in the approval workflow, on the real Temporal dev server and the real store.

Before the PYBMC a leave tier gives a consideration: advisory unless the route step is binding. The PYBMC's
change grants other dates (only their days stay reserved), its deferral ends the request DEFERRED and gives the
year's days back. Each new path's history is recorded as a replay fixture (LENTUR_RECORD_HISTORIES=1).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.common import DecisionKind, RequestKind, Tier
from contracts.evaluation import Evaluation, LeaveDebit
from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.integration.workflow_harness import APPROVERS, REQUESTER, Harness, cite, evaluation, harness, record_history
from workflows.approval.models import DecideCommand, RequesterRef, RequestSnapshot
from workflows.approval.workflow import ApprovalWorkflow

pytestmark = pytest.mark.integration
UNIT_HEAD, OPD_HEAD = (APPROVERS[t][0] for t in (Tier.UNIT_HEAD, Tier.OPD_HEAD))
DAYS = [date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31)]


@pytest.fixture(scope="module")
async def h(infra: InfraAddresses) -> AsyncIterator[Harness]:
    async with harness(infra.temporal_address, await create_database(infra)) as running:
        yield running


def leave_evaluation(days: int = 3, *, binding_first: bool = False) -> Evaluation:
    ev = evaluation(
        (Tier.UNIT_HEAD, Tier.OPD_HEAD),
        leave_debit=LeaveDebit(year=2025, days=days, entitlement=12, available=12, citation=cite("leave")),
    )
    first, pybmc = ev.route
    first = first.model_copy(update={"action": "recommend"})
    if binding_first:
        first = first.model_copy(update={"binding": True, "binding_citation": cite("binding")})
    return ev.model_copy(update={"route": (first, pybmc), "working_days": days})


def someone(nip: str) -> RequesterRef:
    return RequesterRef(**{**REQUESTER.model_dump(), "nip": nip})


async def decide(handle, s: RequestSnapshot, actor: str, decision: DecisionKind, **terms: object) -> RequestSnapshot:
    assert s.current_task_id
    return await handle.execute_update(
        ApprovalWorkflow.decide,
        DecideCommand(task_id=s.current_task_id, decision=decision, actor=actor, **terms),  # type: ignore[arg-type]
        result_type=RequestSnapshot,
    )


async def leave_quota(h: Harness, nip: str) -> tuple[str, int]:
    last = await h.store.last_event(f"quota-annual-leave:{nip}:2025")
    assert last is not None
    return last.type, int(last.payload["used_after"])


async def test_an_advisory_refusal_goes_on_to_the_pybmc_who_decides(h: Harness) -> None:
    nip = "199001012015041101"
    handle, s = await h.start(leave_evaluation(), kind=RequestKind.CUTI_TAHUNAN, requester=someone(nip), dates=DAYS)
    s = await decide(handle, s, UNIT_HEAD, DecisionKind.REJECT, comment="Akhir tahun anggaran")
    assert s.status == "PENDING" and s.current_tier == Tier.OPD_HEAD
    s = await decide(handle, s, OPD_HEAD, DecisionKind.APPROVE)
    assert s.status == "APPROVED"
    stream = await h.store.read_stream(f"request-{s.request_id}")
    decisions = [e.payload for e in stream if e.type == "DecisionRecorded"]
    assert [(d["decision"], d["binding"]) for d in decisions] == [("reject", False), ("approve", False)]
    assert "RequestRejected" not in [e.type for e in stream]
    history = (await handle.fetch_history()).to_json()
    assert "core_patch" in history  # the new path is versioned (workflow.patched)
    await record_history(handle, "leave_advisory")


async def test_a_binding_refusal_ends_the_request_with_its_citation(h: Harness) -> None:
    nip = "199001012015041102"
    handle, s = await h.start(
        leave_evaluation(binding_first=True), kind=RequestKind.CUTI_TAHUNAN, requester=someone(nip), dates=DAYS
    )
    s = await decide(handle, s, UNIT_HEAD, DecisionKind.REJECT, comment="Tenaga tidak cukup")
    assert s.status == "REJECTED"
    stream = await h.store.read_stream(f"request-{s.request_id}")
    rejected = stream[-1]
    assert rejected.type == "RequestRejected" and rejected.payload["citations"][0]["rule_id"] == "binding"
    assert [e.payload["binding"] for e in stream if e.type == "DecisionRecorded"] == [True]
    assert await leave_quota(h, nip) == ("QuotaReleased", 0)
    await record_history(handle, "leave_binding")


async def test_a_change_at_the_pybmc_grants_fewer_days_and_releases_the_rest(h: Harness) -> None:
    nip = "199001012015041103"
    handle, s = await h.start(leave_evaluation(3), kind=RequestKind.CUTI_TAHUNAN, requester=someone(nip), dates=DAYS)
    assert await leave_quota(h, nip) == ("QuotaReserved", 3)
    proposed = [date(2025, 12, 29), date(2025, 12, 30)]
    s = await decide(
        handle, s, UNIT_HEAD, DecisionKind.CHANGE, comment="Usul 2 hari", dates=proposed, evaluation=leave_evaluation(2)
    )
    assert s.status == "PENDING" and await leave_quota(h, nip) == ("QuotaReserved", 3)  # a consideration only
    granted = [date(2025, 12, 31)]
    s = await decide(
        handle, s, OPD_HEAD, DecisionKind.CHANGE, comment="Satu hari", dates=granted, evaluation=leave_evaluation(1)
    )
    assert s.status == "APPROVED"
    stream = await h.store.read_stream(f"request-{s.request_id}")
    changed = next(e.payload for e in stream if e.type == "RequestDatesChanged")
    assert changed["dates"] == ["2025-12-31"] and changed["working_days"] == 1
    assert changed["previous_dates"] == [d.isoformat() for d in DAYS]
    assert [e.type for e in stream][-3:] == ["DecisionRecorded", "RequestDatesChanged", "RequestApproved"]
    quota = await h.store.read_stream(f"quota-annual-leave:{nip}:2025")
    held = [(e.type, e.payload["used_after"]) for e in quota if e.type != "QuotaConsumed"]
    assert held[-2:] == [("QuotaReserved", 4), ("QuotaReleased", 1)]
    consumed = [e for e in quota if e.type == "QuotaConsumed"]
    assert [e.payload["amount"] for e in consumed] == [1]
    await record_history(handle, "leave_change")


async def test_a_deferral_at_the_pybmc_ends_deferred_and_gives_the_days_back(h: Harness) -> None:
    nip = "199001012015041104"
    handle, s = await h.start(leave_evaluation(3), kind=RequestKind.CUTI_TAHUNAN, requester=someone(nip), dates=DAYS)
    s = await decide(handle, s, UNIT_HEAD, DecisionKind.APPROVE)
    s = await decide(
        handle, s, OPD_HEAD, DecisionKind.DEFER, comment="Tutup buku anggaran", defer_until=date(2026, 6, 30)
    )
    assert s.status == "DEFERRED"
    stream = await h.store.read_stream(f"request-{s.request_id}")
    deferred = stream[-1]
    assert deferred.type == "RequestDeferred"
    assert deferred.payload["defer_until"] == "2026-06-30" and deferred.payload["working_days"] == 3
    assert await leave_quota(h, nip) == ("QuotaReleased", 0)
    result = await handle.result()
    assert result.status == "DEFERRED"  # a final status: the workflow has ended
    await record_history(handle, "leave_defer")


async def test_validators_refuse_decisions_that_do_not_fit_the_request(h: Harness) -> None:
    handle, s = await h.start(evaluation(), kind=RequestKind.WFH)
    for decision, terms, code in [
        (DecisionKind.CHANGE, {"dates": DAYS, "evaluation": evaluation()}, "decision_not_allowed"),
        (DecisionKind.DEFER, {"defer_until": date(2026, 1, 5)}, "decision_not_allowed"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, s, UNIT_HEAD, decision, comment="alasan", **terms)
        assert refused.value.cause.type == code  # type: ignore[union-attr]
    # flexible work keeps its semantics: a refusal at the first tier ends it
    s = await decide(handle, s, UNIT_HEAD, DecisionKind.REJECT, comment="Tidak dapat")
    assert s.status == "REJECTED"

    sick, s = await h.start(leave_evaluation(), kind=RequestKind.CUTI_SAKIT, requester=someone("199001012015041105"))
    s = await decide(sick, s, UNIT_HEAD, DecisionKind.APPROVE)
    for decision, terms, code in [
        (DecisionKind.DEFER, {"defer_until": date(2026, 1, 5), "comment": "x"}, "defer_annual_leave_only"),
        (DecisionKind.CHANGE, {"comment": "x"}, "dates_required"),
        (DecisionKind.CHANGE, {"dates": DAYS, "evaluation": leave_evaluation()}, "comment_required"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(sick, s, OPD_HEAD, decision, **terms)
        assert refused.value.cause.type == code  # type: ignore[union-attr]
