"""ComplianceWorkflow: keeps the duties of approved flexible days (check-ins, reports) and flags misses.

One per approved request (started by ApprovalWorkflow) or per piket roster. Check-ins and reports arrive as
Updates whose validators refuse the wrong person, a day without duties or a closed window before anything
enters history. A window or deadline that passes unmet becomes ComplianceMissed with a task for the
superior; a late report is still accepted and marked late until the grace period ends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.events import (
        SYSTEM_ACTOR,
        ActivityReportSubmitted,
        CheckInRecorded,
        ComplianceMissed,
        DutiesScheduled,
        EventPayload,
    )
    from workflows.compliance.models import (
        CheckInCommand,
        ComplianceInput,
        DutyOutcome,
        DutyState,
        ReportCommand,
        compliance_workflow_id,
    )
    from workflows.compliance.schedule import Duty, describe_windows, open_checkin
    from workflows.recording import append_to_stream
    from workflows.versions import patched

# An Update delivered together with the workflow's start runs before `run` (the SDK applies Updates first), so
# without this a check-in could be recorded ahead of DutiesScheduled: the read model then had no duty to mark.
DUTIES_BEFORE_UPDATES = "duties-before-updates"


def _fail(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=code, non_retryable=True)


@workflow.defn(name="ComplianceWorkflow")
class ComplianceWorkflow:
    @workflow.init
    def __init__(self, inp: ComplianceInput) -> None:
        self.inp = inp
        self.stream = compliance_workflow_id(inp.subject)
        self.status: dict[str, str] = {d.duty_id: "pending" for d in inp.duties}
        self.tasks: dict[str, str] = {}
        self.version = 0
        self.last_position = 0
        self.lock = asyncio.Lock()
        self.changed = False
        self.stopped = False
        self.scheduled = False

    def _now(self) -> datetime:
        return workflow.now() + timedelta(seconds=self.inp.clock_offset_seconds)

    def _duty(self, duty_id: str) -> Duty:
        return next(d for d in self.inp.duties if d.duty_id == duty_id)

    async def _emit(self, *items: tuple[EventPayload, str]) -> None:
        result = await append_to_stream(
            self.stream,
            self.version,
            [(payload, actor, None) for payload, actor in items],
            occurred_at=self._now(),
            correlation_id=self.inp.correlation_id,
            causation_id=self.inp.subject,
            policy=self.inp.policy,
            clock=self.inp.clock_mode,
        )
        self.version = result.last_version
        self.last_position = max(self.last_position, result.last_position)
        self.changed = True

    # -- the clock ------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ComplianceInput) -> list[DutyState]:
        async with self.lock:
            await self._emit(
                (
                    DutiesScheduled(
                        subject=inp.subject,
                        request_id=inp.request_id,
                        region=inp.region,
                        opd_code=inp.opd_code,
                        unit_code=inp.unit_code,
                        timezone=inp.timezone,
                        duties=[d.model_dump(mode="json") for d in inp.duties],
                    ),
                    SYSTEM_ACTOR,
                )
            )
            self.scheduled = True
        last_deadline = max((d.closes_at for d in inp.duties), default=self._now())
        accept_late_until = last_deadline + inp.late_grace
        while not self.stopped:
            pending = [d.closes_at for d in inp.duties if self.status[d.duty_id] == "pending"]
            late_open = [d for d in inp.duties if self.status[d.duty_id] == "missed" and d.late_allowed]
            if not pending and (not late_open or self._now() >= accept_late_until):
                break
            deadline = min(pending) if pending else accept_late_until
            remaining = deadline - self._now()
            self.changed = False
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self.changed or self.stopped, timeout=remaining)
                    continue
                except TimeoutError:
                    pass
            async with self.lock:
                await self._mark_missed()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.states()

    async def _mark_missed(self) -> None:
        now = self._now()
        missed = [d for d in self.inp.duties if self.status[d.duty_id] == "pending" and d.closes_at <= now]
        items = []
        for duty in missed:
            task_id = f"{self.stream}-m{len(self.tasks) + 1}"
            self.status[duty.duty_id] = "missed"
            self.tasks[duty.duty_id] = task_id
            items.append(
                (
                    ComplianceMissed(
                        subject=self.inp.subject,
                        request_id=self.inp.request_id,
                        duty_id=duty.duty_id,
                        nip=duty.nip,
                        day=duty.day,
                        duty=duty.label,
                        superior_nip=duty.report_to_nip,
                        task_id=task_id,
                        citation=duty.citation,
                    ),
                    SYSTEM_ACTOR,
                )
            )
        if items:
            await self._emit(*items)

    @workflow.signal
    def stop(self, reason: str) -> None:
        """The request was cancelled before its first day: no duty remains."""
        self.stopped = True

    @workflow.query
    def states(self) -> list[DutyState]:
        return [
            DutyState(duty=d, status=self.status[d.duty_id], task_id=self.tasks.get(d.duty_id))  # type: ignore[arg-type]
            for d in self.inp.duties
        ]

    async def _after_scheduling(self) -> None:
        """Record a duty's fulfilment only after the duties themselves (asked only in that race: no marker else)."""
        if not self.scheduled and patched(DUTIES_BEFORE_UPDATES):
            await workflow.wait_condition(lambda: self.scheduled)

    # -- check-ins ------------------------------------------------------------------------------------

    def _participant(self, actor: str) -> None:
        if actor not in self.inp.participants:
            raise _fail("not_participant", "Hanya pegawai yang bersangkutan yang dapat melapor untuk kewajiban ini.")

    def _check_in_duty(self, cmd: CheckInCommand) -> Duty:
        self._participant(cmd.actor)
        now = self._now()
        today = now.astimezone(self.inp.duties[0].opens_at.tzinfo).date() if self.inp.duties else now.date()
        mine = [d for d in self.inp.duties if d.nip == cmd.actor and d.kind == "checkin"]
        if not any(d.day == today for d in mine):
            raise _fail(
                "not_a_duty_day",
                f"Tidak ada kewajiban check-in pada {today:%d-%m-%Y}; check-in hanya pada "
                "hari kerja fleksibel yang disetujui.",
            )
        duty = open_checkin(mine, cmd.actor, now)
        if duty is None:
            raise _fail(
                "outside_checkin_window",
                f"Di luar jendela check-in. Jendela hari ini: {describe_windows(mine, today)}.",
            )
        if self.status[duty.duty_id] != "pending":
            raise _fail("already_checked_in", f"Check-in {duty.label} sudah tercatat.")
        return duty

    @workflow.update
    async def check_in(self, cmd: CheckInCommand) -> DutyOutcome:
        await self._after_scheduling()
        async with self.lock:
            duty = self._check_in_duty(cmd)
            self.status[duty.duty_id] = "done"
            await self._emit(
                (
                    CheckInRecorded(
                        subject=self.inp.subject,
                        request_id=self.inp.request_id,
                        duty_id=duty.duty_id,
                        nip=cmd.actor,
                        day=duty.day,
                        window=duty.label,
                        location=cmd.location,
                        precision_decimals=self.inp.location_precision_decimals,
                    ),
                    cmd.actor,
                )
            )
            return DutyOutcome(duty_id=duty.duty_id, status="done", late=False, last_position=self.last_position)

    @check_in.validator
    def _validate_check_in(self, cmd: CheckInCommand) -> None:
        self._check_in_duty(cmd)

    # -- reports --------------------------------------------------------------------------------------

    def _report_duty(self, cmd: ReportCommand) -> Duty:
        self._participant(cmd.actor)
        now = self._now()
        kind = "activity_report" if cmd.report_kind == "activity" else "performance_report"
        mine = [d for d in self.inp.duties if d.nip == cmd.actor and d.kind == kind]
        if not mine:
            raise _fail("no_such_duty", "Pengajuan ini tidak mewajibkan laporan jenis ini.")
        if kind == "activity_report":
            day = cmd.day or now.astimezone(mine[0].opens_at.tzinfo).date()
            matching = [d for d in mine if d.day == day]
            if not matching:
                raise _fail("not_a_duty_day", f"Tidak ada kewajiban laporan kegiatan pada {day:%d-%m-%Y}.")
            duty = matching[0]
        else:
            duty = mine[0]
        if now < duty.opens_at:
            raise _fail("too_early", f"Laporan untuk {duty.day:%d-%m-%Y} belum dapat dikirim.")
        if self.status[duty.duty_id] in ("done", "late"):
            raise _fail("already_reported", "Laporan ini sudah dikirim.")
        return duty

    @workflow.update
    async def report(self, cmd: ReportCommand) -> DutyOutcome:
        await self._after_scheduling()
        async with self.lock:
            duty = self._report_duty(cmd)
            late = self._now() >= duty.closes_at
            self.status[duty.duty_id] = "late" if late else "done"
            await self._emit(
                (
                    ActivityReportSubmitted(
                        subject=self.inp.subject,
                        request_id=self.inp.request_id,
                        duty_id=duty.duty_id,
                        nip=cmd.actor,
                        day=duty.day,
                        report_kind=cmd.report_kind,
                        late=late,
                        text=cmd.text,
                        attachment_sha256=cmd.attachment_sha256,
                        attachment_name=cmd.attachment_name,
                        attachment_bytes=cmd.attachment_bytes,
                    ),
                    cmd.actor,
                )
            )
            return DutyOutcome(
                duty_id=duty.duty_id, status=self.status[duty.duty_id], late=late, last_position=self.last_position
            )

    @report.validator
    def _validate_report(self, cmd: ReportCommand) -> None:
        self._report_duty(cmd)
