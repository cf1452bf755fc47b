"""A check-in that reaches ComplianceWorkflow together with its start, on the real Temporal dev server and store.

Update-with-start puts the Update in the workflow's first task, where the SDK runs Update handlers before `run`:
the check-in must still be recorded after DutiesScheduled, and its outcome must cover both events. The history
is recorded as a replay fixture with LENTUR_RECORD_HISTORIES=1 (see test_workflow_replay.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time

import pytest
from pydantic import BaseModel
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from contracts.common import Tier
from contracts.evaluation import DutyWindow, Obligation
from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.integration.workflow_harness import APPROVERS, REQUESTER, Harness, cite, harness, offset_to, record_history
from workflows.compliance.models import (
    CheckInCommand,
    ComplianceInput,
    DutyOutcome,
    ReportCommand,
    compliance_workflow_id,
)
from workflows.compliance.schedule import duties_for
from workflows.compliance.workflow import ComplianceWorkflow

pytestmark = pytest.mark.integration

# 07:40 WITA on 30 December 2025, inside the morning window below.
NOW = datetime(2025, 12, 29, 23, 40, tzinfo=UTC)
CHECKIN = Obligation(
    kind="location_checkin",
    windows=(DutyWindow(label="pagi", start=time(7, 30), end=time(9, 0)),),
    citation=cite("checkin"),
)
REPORT = Obligation(kind="activity_report", deadline=time(23, 59), citation=cite("report"))


@pytest.fixture(scope="module")
async def h(infra: InfraAddresses) -> AsyncIterator[Harness]:
    async with harness(infra.temporal_address, await create_database(infra)) as running:
        yield running


@pytest.mark.parametrize(
    ("update", "command", "recorded", "fixture"),
    [
        (
            ComplianceWorkflow.check_in,
            CheckInCommand(actor=REQUESTER.nip),
            "CheckInRecorded",
            "compliance_checkin_at_start",
        ),
        (
            ComplianceWorkflow.report,
            ReportCommand(actor=REQUESTER.nip, report_kind="activity"),
            "ActivityReportSubmitted",
            None,
        ),
    ],
)
async def test_an_update_delivered_with_the_start_is_recorded_after_the_duties(
    h: Harness, update: object, command: BaseModel, recorded: str, fixture: str | None
) -> None:
    request_id = uuid.uuid4()
    subject = f"request:{request_id}"
    inp = ComplianceInput(
        subject=subject,
        request_id=request_id,
        region=REQUESTER.region,
        opd_code=REQUESTER.opd_code,
        unit_code=REQUESTER.unit_code,
        timezone="Asia/Makassar",
        participants=[REQUESTER.nip],
        duties=duties_for(
            subject=subject,
            nip=REQUESTER.nip,
            days=[date(2025, 12, 30)],
            obligations=[CHECKIN, REPORT],
            timezone="Asia/Makassar",
            superiors={Tier.UNIT_HEAD: APPROVERS[Tier.UNIT_HEAD][0]},
        ),
        correlation_id=str(request_id),
        clock_offset_seconds=offset_to(NOW),
        clock_mode="simulated",
    )
    start = WithStartWorkflowOperation(
        ComplianceWorkflow.run,
        inp,
        id=compliance_workflow_id(subject),
        task_queue=h.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    outcome = await h.client.execute_update_with_start_workflow(
        update,  # type: ignore[arg-type]
        command,
        start_workflow_operation=start,
        result_type=DutyOutcome,
    )
    events = await h.store.read_stream(compliance_workflow_id(subject))
    assert [e.type for e in events] == ["DutiesScheduled", recorded]
    assert events[1].payload["duty_id"] == outcome.duty_id and outcome.status == "done"
    # What the service waits for before reading the duty covers the duty's scheduling too.
    assert outcome.last_position == events[1].position > events[0].position
    if fixture is not None:
        await record_history(await start.workflow_handle(), fixture)
