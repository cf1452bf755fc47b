"""ApprovalWorkflow: one per request. Routes it through its tiers, keeps its timers, records every fact.

Deterministic: time is workflow.now() plus the clock offset the request was started with; every event id
is derived from the stream and version; all I/O is in activities. Decisions, cancellation and
resubmission arrive as Updates whose validators refuse bad commands before anything enters history.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from contracts.common import DecisionKind, RequestKind, RequestStatus, Tier
    from contracts.evaluation import Evaluation, RouteStep
    from contracts.events import (
        SYSTEM_ACTOR,
        DecisionRecorded,
        EventPayload,
        RequestApproved,
        RequestCancelled,
        RequestDatesChanged,
        RequestDeferred,
        RequestExpired,
        RequestRejected,
        RequestResubmitted,
        RequestReturned,
        RequestSubmitted,
        RouteDetermined,
        TaskAssigned,
        TaskEscalated,
        TaskReminded,
        request_stream,
    )
    from contracts.zones import fixed_zone
    from workflows.activity_options import call
    from workflows.approval.models import (
        ApprovalInput,
        CancelCommand,
        DecideCommand,
        EscalationQuery,
        EscalationTarget,
        QuotaClaim,
        QuotaRequest,
        QuotaResult,
        Refused,
        RequestSnapshot,
        ResubmitCommand,
        task_id_for,
    )
    from workflows.compliance.models import ComplianceInput, compliance_workflow_id
    from workflows.compliance.schedule import duties_for
    from workflows.recording import Recorded, append_to_stream
    from workflows.versions import patched


DUTIES_FROM_FIRST_DAY = "duties-from-first-day"
# Leave tiers before the PYBMC give a consideration (pertimbangan): a refusal there is advisory unless the pack
# makes the step binding. Before this patch every refusal ended the request.
LEAVE_CONSIDERATIONS = "leave-considerations"


class _Task:
    def __init__(
        self,
        task_id: str,
        step: int,
        tier: Tier,
        assignee: str,
        assigned_at: datetime,
        remind_at: datetime | None,
        escalate_at: datetime | None,
    ) -> None:
        self.task_id = task_id
        self.step = step
        self.tier = tier
        self.assignee = assignee
        self.holders = {assignee}
        self.assigned_at = assigned_at
        self.remind_at = remind_at
        self.escalate_at = escalate_at
        self.escalated = False


def _fail(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=code, non_retryable=True)


@workflow.defn(name="ApprovalWorkflowV2")
class ApprovalWorkflow:
    """Requests submitted from release 0.2.0 on run as ApprovalWorkflowV2: the same code as the type below,
    started after every patch in it, so it records no patch markers (workflows/versions.py)."""

    @workflow.init
    def __init__(self, inp: ApprovalInput) -> None:
        self.inp = inp
        self.stream = request_stream(inp.request_id)
        self.evaluation: Evaluation = inp.evaluation
        self.status = "NEW"
        self.round = 1
        self.dates = list(inp.dates)
        self.task: _Task | None = None
        self.decided_tasks: set[str] = set()
        self.version = 0
        self.last_position = 0
        self.refusal: Refused | None = None
        self.held: list[QuotaClaim] = []
        self.lock = asyncio.Lock()
        self.initialized = False
        self.changed = False
        self.returned_at_step = 0
        self.quota_ops = 0
        self.compliance_id: str | None = None

    # -- time -----------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return workflow.now() + timedelta(seconds=self.inp.clock_offset_seconds)

    def _zone(self) -> tzinfo:
        return fixed_zone(self.evaluation.timezone)

    def _first_day_starts(self) -> datetime:
        return datetime.combine(min(self.dates), time(0), self._zone())

    def _expires_at(self) -> datetime:
        return datetime.combine(min(self.dates) + timedelta(days=1), time(0), self._zone())

    def _last_day_ends(self) -> datetime:
        return datetime.combine(max(self.dates) + timedelta(days=1), time(0), self._zone())

    # -- recording ------------------------------------------------------------------------------------

    async def _emit(self, *items: Recorded) -> None:
        result = await append_to_stream(
            self.stream,
            self.version,
            items,
            occurred_at=self._now(),
            correlation_id=self.inp.correlation_id,
            causation_id=str(self.inp.request_id),
            policy=self.evaluation.policy.model_dump(mode="json"),
            clock=self.inp.clock_mode,
        )
        self.version = result.last_version
        self.last_position = max(self.last_position, result.last_position)
        self.changed = True

    async def _quotas(self, operation: str, claims: list[QuotaClaim], reason: str = "") -> QuotaResult:
        if not claims:
            return QuotaResult(ok=True)
        self.quota_ops += 1
        result: QuotaResult = await call(
            "apply_quotas",
            QuotaRequest(
                request_id=self.inp.request_id,
                round=self.round,
                sequence=self.quota_ops,
                operation=operation,  # type: ignore[arg-type]
                claims=claims,
                reason=reason,
                occurred_at=self._now(),
                actor=SYSTEM_ACTOR,
                correlation_id=self.inp.correlation_id,
                policy=self.evaluation.policy.model_dump(mode="json"),
                clock=self.inp.clock_mode,
            ),
            QuotaResult,
        )
        self.last_position = max(self.last_position, result.last_position)
        return result

    def _leave_claims(self, evaluation: Evaluation) -> list[QuotaClaim]:
        debit = evaluation.leave_debit
        if debit is None or debit.days <= 0:
            return []
        quota = f"annual-leave:{self.inp.requester.nip}:{debit.year}"
        return [QuotaClaim(quota=quota, amount=debit.days, limit=debit.entitlement, citation=debit.citation)]

    def _cap_claims(self) -> list[QuotaClaim]:
        claims = []
        for cap in self.evaluation.caps:
            if self.inp.kind not in cap.kinds:
                continue
            for day in self.dates:
                if day in cap.dates:
                    quota = f"unit-cap:{self.inp.requester.region}:{cap.unit_code}:{day.isoformat()}"
                    claims.append(QuotaClaim(quota=quota, amount=1, limit=cap.cap, citation=cap.citation))
        return claims

    async def _release_held(self, reason: str) -> None:
        if self.held:
            await self._quotas("release", self.held, reason)
            self.held = []

    def _step(self, index: int) -> RouteStep:
        return self.evaluation.route[index]

    def _assignment(self, index: int) -> tuple[TaskAssigned, _Task]:
        step = self._step(index)
        now = self._now()
        timers = self.evaluation.timers
        task = _Task(
            task_id=task_id_for(self.inp.request_id, self.round, index),
            step=index,
            tier=step.tier,
            assignee=step.approver_nip,
            assigned_at=now,
            remind_at=now + timers.remind_after,
            escalate_at=now + timers.escalate_after,
        )
        if step.on_behalf_of:
            task.holders.add(step.on_behalf_of)
        payload = TaskAssigned(
            task_id=task.task_id,
            request_id=self.inp.request_id,
            round=self.round,
            step=index,
            tier=step.tier,
            action=step.action,
            assignee_nip=step.approver_nip,
            assignee_name=step.approver_name,
            remind_at=task.remind_at,
            escalate_at=task.escalate_at,
        )
        return payload, task

    def _route_determined(self) -> RouteDetermined:
        ev = self.evaluation
        return RouteDetermined(
            request_id=self.inp.request_id,
            round=self.round,
            timezone=ev.timezone,
            route=list(ev.route),
            caps=list(ev.caps),
            leave_debit=ev.leave_debit,
            obligations=list(ev.obligations),
            timers=ev.timers,
            resubmit_from=ev.resubmit_from,
            working_days=ev.working_days,
            citations=list(ev.citations),
        )

    def snapshot(self) -> RequestSnapshot:
        return RequestSnapshot(
            request_id=self.inp.request_id,
            status=self.status,
            round=self.round,
            current_tier=self.task.tier if self.task else None,
            current_task_id=self.task.task_id if self.task else None,
            last_position=self.last_position,
            refusal=self.refusal,
            version=self.version,
        )

    # -- lifecycle ------------------------------------------------------------------------------------

    async def _submit(self) -> None:
        inp = self.inp
        leave = self._leave_claims(self.evaluation)
        reserved = await self._quotas("reserve", leave)
        if not reserved.ok:
            self.status = "REFUSED"
            self.refusal = Refused(
                code="insufficient_leave_balance",
                message="Sisa cuti tahunan tidak mencukupi (saldo berubah saat pengajuan diproses).",
                citations=[reserved.refused_citation] if reserved.refused_citation else [],
            )
            return
        self.held = leave
        assigned, task = self._assignment(0)
        await self._emit(
            (
                RequestSubmitted(
                    request_id=inp.request_id,
                    requester_nip=inp.requester.nip,
                    requester_name=inp.requester.name,
                    region=inp.requester.region,
                    opd_code=inp.requester.opd_code,
                    unit_code=inp.requester.unit_code,
                    kind=inp.kind,
                    dates=self.dates,
                    country=inp.country,
                    personal=inp.personal,
                    body_sha256=inp.body_sha256,
                    idempotency_key_sha256=inp.idempotency_key_sha256,
                    travel_purpose=inp.travel_purpose,
                    linked_request_id=inp.linked_request_id,
                ),
                inp.requester.nip,
                None,
            ),
            (self._route_determined(), SYSTEM_ACTOR, None),
            (assigned, SYSTEM_ACTOR, None),
        )
        self.task = task
        self.status = RequestStatus.PENDING.value

    @workflow.run
    async def run(self, inp: ApprovalInput) -> RequestSnapshot:
        async with self.lock:
            await self._submit()
            self.initialized = True
        while self.status in (RequestStatus.PENDING.value, RequestStatus.RETURNED.value):
            self.changed = False
            remaining = self._next_deadline() - self._now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self.changed, timeout=remaining)
                    continue
                except TimeoutError:
                    pass
            async with self.lock:
                await self._on_deadline()
        if self.status == RequestStatus.APPROVED.value and patched("compliance-duties"):
            if patched(DUTIES_FROM_FIRST_DAY):
                # Duties begin on the first approved day; until then the request may still be cancelled, and a
                # cancelled request never schedules any.
                await self._while_approved_until(self._first_day_starts())
                if self.status == RequestStatus.APPROVED.value:
                    await self._start_compliance()
            else:
                await self._start_compliance()
        # Cancellation stays possible until the first day starts; afterwards the request simply runs out.
        await self._while_approved_until(self._last_day_ends())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.snapshot()

    async def _while_approved_until(self, moment: datetime) -> None:
        while self.status == RequestStatus.APPROVED.value and self._now() < moment:
            self.changed = False
            try:
                await workflow.wait_condition(lambda: self.changed, timeout=moment - self._now())
            except TimeoutError:
                return

    async def _start_compliance(self) -> None:
        """Duties of the approved days (check-ins, reports) run in their own workflow and stream."""
        inp = self.inp
        subject = f"request:{inp.request_id}"
        superiors = {step.tier: step.approver_nip for step in self.evaluation.route}
        duties = duties_for(
            subject=subject,
            nip=inp.requester.nip,
            days=self.dates,
            obligations=self.evaluation.obligations,
            timezone=self.evaluation.timezone,
            superiors=superiors,
        )
        if not duties:
            return
        precision = next(
            (
                o.location_precision_decimals
                for o in self.evaluation.obligations
                if o.location_precision_decimals is not None
            ),
            None,
        )
        self.compliance_id = compliance_workflow_id(subject)
        await workflow.start_child_workflow(
            "ComplianceWorkflow",
            ComplianceInput(
                subject=subject,
                request_id=inp.request_id,
                region=inp.requester.region,
                opd_code=inp.requester.opd_code,
                unit_code=inp.requester.unit_code,
                timezone=self.evaluation.timezone,
                participants=[inp.requester.nip],
                duties=duties,
                location_precision_decimals=precision,
                correlation_id=inp.correlation_id,
                policy=self.evaluation.policy.model_dump(mode="json"),
                clock_offset_seconds=inp.clock_offset_seconds,
                clock_mode=inp.clock_mode,
            ),
            id=self.compliance_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    def _next_deadline(self) -> datetime:
        deadlines = [self._expires_at()]
        task = self.task
        if self.status == RequestStatus.PENDING.value and task is not None:
            if task.remind_at is not None:
                deadlines.append(task.remind_at)
            if task.escalate_at is not None and not task.escalated:
                deadlines.append(task.escalate_at)
        return min(deadlines)

    async def _on_deadline(self) -> None:
        now = self._now()
        if self.status not in (RequestStatus.PENDING.value, RequestStatus.RETURNED.value):
            return
        if now >= self._expires_at():
            await self._expire()
            return
        task = self.task
        if task is None:
            return
        if task.escalate_at is not None and not task.escalated and now >= task.escalate_at:
            await self._escalate(task)
        elif task.remind_at is not None and now >= task.remind_at:
            task.remind_at = None
            await self._emit(
                (
                    TaskReminded(task_id=task.task_id, request_id=self.inp.request_id, assignee_nip=task.assignee),
                    SYSTEM_ACTOR,
                    None,
                )
            )

    async def _escalate(self, task: _Task) -> None:
        task.escalated = True
        task.remind_at = None
        timers = self.evaluation.timers
        has_next = task.step + 1 < len(self.evaluation.route)
        if timers.escalate_to == "next_tier" and has_next:
            nxt = self._step(task.step + 1)
            assigned, new_task = self._assignment(task.step + 1)
            await self._emit(
                (
                    TaskEscalated(
                        task_id=task.task_id,
                        request_id=self.inp.request_id,
                        tier=task.tier,
                        from_nip=task.assignee,
                        to_nip=nxt.approver_nip,
                        to_tier=nxt.tier,
                        reason="tidak diputuskan dalam batas waktu; dinaikkan ke tingkat berikutnya",
                    ),
                    SYSTEM_ACTOR,
                    None,
                ),
                (assigned, SYSTEM_ACTOR, None),
            )
            self.task = new_task
            return
        target: EscalationTarget | None = await call(
            "escalation_target",
            EscalationQuery(
                region=self.inp.requester.region,
                tier=task.tier,
                assignee_nip=task.assignee,
                requester_nip=self.inp.requester.nip,
                escalate_to=timers.escalate_to,
            ),
            EscalationTarget,
        )
        if target is None:
            return
        task.holders.add(target.to_nip)
        await self._emit(
            (
                TaskEscalated(
                    task_id=task.task_id,
                    request_id=self.inp.request_id,
                    tier=task.tier,
                    from_nip=task.assignee,
                    to_nip=target.to_nip,
                    to_tier=target.to_tier,
                    reason=target.reason,
                ),
                SYSTEM_ACTOR,
                None,
            )
        )

    async def _expire(self) -> None:
        await self._emit(
            (
                RequestExpired(request_id=self.inp.request_id, round=self.round, first_day=min(self.dates)),
                SYSTEM_ACTOR,
                None,
            )
        )
        self.status = RequestStatus.EXPIRED.value
        self.task = None
        await self._release_held("kedaluwarsa")

    # -- submitted (used with update-with-start) ------------------------------------------------------

    @workflow.update
    async def submitted(self) -> RequestSnapshot:
        await workflow.wait_condition(lambda: self.initialized)
        return self.snapshot()

    @workflow.query
    def state(self) -> RequestSnapshot:
        return self.snapshot()

    # -- decisions ------------------------------------------------------------------------------------

    def _check_decision(self, cmd: DecideCommand) -> _Task:
        if cmd.task_id in self.decided_tasks:
            raise _fail("already_decided", "Tugas ini sudah diputuskan.")
        task = self.task
        if self.status != RequestStatus.PENDING.value or task is None:
            raise _fail("not_pending", f"Pengajuan tidak sedang menunggu keputusan (status {self.status}).")
        if cmd.task_id != task.task_id:
            raise _fail("unknown_task", "Tugas ini bukan tugas yang sedang berjalan untuk pengajuan ini.")
        if cmd.actor == self.inp.requester.nip:
            raise _fail("self_approval", "Tidak ada yang boleh memutuskan pengajuannya sendiri.")
        authority = cmd.on_behalf_of or cmd.actor
        if authority not in task.holders:
            raise _fail("not_assignee", "Tugas ini tidak ditujukan kepada Anda.")
        if cmd.decision in (DecisionKind.REJECT, DecisionKind.RETURN) and not (cmd.comment or "").strip():
            raise _fail("comment_required", "Penolakan dan pengembalian wajib disertai catatan.")
        if cmd.decision.leave_only:
            self._check_leave_decision(cmd)
        return task

    def _check_leave_decision(self, cmd: DecideCommand) -> None:
        if not self.inp.kind.is_leave:
            raise _fail("decision_not_allowed", "Perubahan dan penangguhan hanya untuk pengajuan cuti.")
        if not (cmd.comment or "").strip():
            raise _fail("comment_required", "Perubahan dan penangguhan wajib disertai alasan.")
        if cmd.decision == DecisionKind.DEFER:
            if self.inp.kind != RequestKind.CUTI_TAHUNAN:
                raise _fail("defer_annual_leave_only", "Hanya cuti tahunan yang dapat ditangguhkan.")
            if cmd.defer_until is None:
                raise _fail("defer_until_required", "Penangguhan wajib menyebut tanggal sampai kapan.")
        if cmd.decision == DecisionKind.CHANGE and (not cmd.dates or cmd.evaluation is None):
            raise _fail("dates_required", "Perubahan wajib menyebut tanggal yang diberikan.")

    def _is_final_step(self, task: _Task) -> bool:
        return task.step + 1 >= len(self.evaluation.route)

    def _consideration_is_advisory(self, task: _Task, decision: DecisionKind) -> bool:
        """Before the PYBMC a leave tier only advises; only a binding step's refusal ends the request."""
        if self._is_final_step(task) or not self.inp.kind.is_leave or not decision.refuses:
            return False
        if self._step(task.step).binding:
            return False
        return patched(LEAVE_CONSIDERATIONS)

    @workflow.update
    async def decide(self, cmd: DecideCommand) -> RequestSnapshot:
        async with self.lock:
            task = self._check_decision(cmd)
            final = self._is_final_step(task)
            changes_dates = cmd.decision == DecisionKind.CHANGE
            if changes_dates and final:
                # Reserve the granted days before anything is recorded, so a refusal changes nothing.
                await self._reserve_changed_leave(cmd)
            self.decided_tasks.add(task.task_id)
            step = self._step(task.step)
            decided = (
                DecisionRecorded(
                    task_id=task.task_id,
                    request_id=self.inp.request_id,
                    round=self.round,
                    step=task.step,
                    tier=task.tier,
                    decision=cmd.decision,
                    comment=cmd.comment,
                    dates=sorted(set(cmd.dates)) if changes_dates and cmd.dates else None,
                    defer_until=cmd.defer_until if cmd.decision == DecisionKind.DEFER else None,
                    binding=step.binding and not final,
                ),
                cmd.actor,
                cmd.on_behalf_of,
            )
            if cmd.decision == DecisionKind.RETURN:
                await self._emit(
                    decided,
                    (
                        RequestReturned(
                            request_id=self.inp.request_id,
                            round=self.round,
                            tier=task.tier,
                            comment=cmd.comment or "",
                        ),
                        cmd.actor,
                        cmd.on_behalf_of,
                    ),
                )
                self.status, self.task = RequestStatus.RETURNED.value, None
                self.returned_at_step = task.step
            elif cmd.decision == DecisionKind.REJECT and not self._consideration_is_advisory(task, cmd.decision):
                citations = [step.binding_citation] if step.binding and not final and step.binding_citation else []
                await self._emit(
                    decided,
                    (
                        RequestRejected(
                            request_id=self.inp.request_id,
                            round=self.round,
                            tier=task.tier,
                            reason=cmd.comment,
                            citations=citations,
                        ),
                        cmd.actor,
                        cmd.on_behalf_of,
                    ),
                )
                self.status, self.task = RequestStatus.REJECTED.value, None
                await self._release_held("ditolak")
            elif not final:
                # Approve, or a consideration (advisory refusal, proposed change, proposed deferral): the request
                # goes on to the next tier, which sees every consideration; its dates stay until the PYBMC decides.
                assigned, new_task = self._assignment(task.step + 1)
                await self._emit(decided, (assigned, SYSTEM_ACTOR, None))
                self.task = new_task
            elif cmd.decision == DecisionKind.DEFER:
                await self._defer(task, cmd, decided)
            elif changes_dates:
                await self._final_approval(task, decided, self._dates_changed(task, cmd))
            else:
                await self._final_approval(task, decided)
            return self.snapshot()

    async def _reserve_changed_leave(self, cmd: DecideCommand) -> None:
        """Hold the granted days' annual leave (counting what this request gives back), then give back the old."""
        assert cmd.evaluation is not None
        previous = self.held
        granted = self._leave_claims(cmd.evaluation)
        if [(c.quota, c.amount) for c in previous] == [(c.quota, c.amount) for c in granted]:
            return
        returning = {c.quota: c.amount for c in previous}
        adjusted = [c.model_copy(update={"limit": c.limit + returning.get(c.quota, 0)}) for c in granted]
        reserved = await self._quotas("reserve", adjusted)
        if not reserved.ok:
            raise _fail("insufficient_leave_balance", "Sisa cuti tahunan tidak mencukupi untuk tanggal pengganti.")
        await self._release_held("perubahan tanggal")
        self.held = granted

    def _dates_changed(self, task: _Task, cmd: DecideCommand) -> tuple[EventPayload, str, str | None]:
        assert cmd.evaluation is not None and cmd.dates
        previous = self.dates
        self.evaluation = cmd.evaluation
        self.dates = sorted(set(cmd.dates))
        debit = cmd.evaluation.leave_debit
        return (
            RequestDatesChanged(
                request_id=self.inp.request_id,
                round=self.round,
                tier=task.tier,
                dates=self.dates,
                previous_dates=previous,
                working_days=debit.days if debit is not None else cmd.evaluation.working_days,
            ),
            cmd.actor,
            cmd.on_behalf_of,
        )

    async def _defer(self, task: _Task, cmd: DecideCommand, decided: tuple[EventPayload, str, str | None]) -> None:
        assert cmd.defer_until is not None
        debit = self.evaluation.leave_debit
        await self._emit(
            decided,
            (
                RequestDeferred(
                    request_id=self.inp.request_id,
                    round=self.round,
                    tier=task.tier,
                    defer_until=cmd.defer_until,
                    reason=cmd.comment or "",
                    dates=self.dates,
                    working_days=debit.days if debit is not None else self.evaluation.working_days,
                ),
                cmd.actor,
                cmd.on_behalf_of,
            ),
        )
        self.status, self.task = RequestStatus.DEFERRED.value, None
        await self._release_held("ditangguhkan")

    @decide.validator
    def _validate_decide(self, cmd: DecideCommand) -> None:
        self._check_decision(cmd)

    async def _final_approval(self, task: _Task, *decided: tuple[EventPayload, str, str | None]) -> None:
        caps = self._cap_claims()
        reserved = await self._quotas("reserve", caps)
        if not reserved.ok:
            citations = [reserved.refused_citation] if reserved.refused_citation else []
            message = (
                f"Batas harian unit sudah tercapai ({reserved.used} dari {reserved.limit} pegawai); "
                "pengajuan tidak dapat disetujui."
            )
            await self._emit(
                *decided,
                (
                    RequestRejected(
                        request_id=self.inp.request_id,
                        round=self.round,
                        tier=task.tier,
                        code="unit_cap_reached",
                        reason=message,
                        citations=citations,
                    ),
                    SYSTEM_ACTOR,
                    None,
                ),
            )
            self.status, self.task = RequestStatus.REJECTED.value, None
            self.refusal = Refused(code="unit_cap_reached", message=message, citations=citations)
            await self._release_held("ditolak karena batas unit")
            return
        self.held = [*self.held, *caps]
        await self._emit(
            *decided,
            (
                RequestApproved(request_id=self.inp.request_id, round=self.round, final_tier=task.tier),
                SYSTEM_ACTOR,
                None,
            ),
        )
        self.status, self.task = RequestStatus.APPROVED.value, None
        await self._quotas("consume", self._leave_claims(self.evaluation))

    # -- cancellation ---------------------------------------------------------------------------------

    def _check_cancel(self, cmd: CancelCommand) -> None:
        if cmd.actor != self.inp.requester.nip:
            raise _fail("not_requester", "Hanya pengaju yang dapat membatalkan pengajuan ini.")
        if self.status in (
            RequestStatus.REJECTED.value,
            RequestStatus.CANCELLED.value,
            RequestStatus.EXPIRED.value,
            RequestStatus.DEFERRED.value,
            "REFUSED",
        ):
            raise _fail("not_cancellable", f"Pengajuan sudah selesai (status {self.status}).")
        if self.status == RequestStatus.APPROVED.value and self._now() >= self._first_day_starts():
            raise _fail(
                "cancel_too_late",
                "Pengajuan yang sudah disetujui hanya dapat dibatalkan sebelum hari pertama dimulai.",
            )

    @workflow.update
    async def cancel(self, cmd: CancelCommand) -> RequestSnapshot:
        async with self.lock:
            self._check_cancel(cmd)
            after_approval = self.status == RequestStatus.APPROVED.value
            await self._emit(
                (
                    RequestCancelled(
                        request_id=self.inp.request_id,
                        round=self.round,
                        after_approval=after_approval,
                        reason=cmd.reason,
                    ),
                    cmd.actor,
                    None,
                )
            )
            self.status, self.task = RequestStatus.CANCELLED.value, None
            await self._release_held("dibatalkan")
            if self.compliance_id is not None:
                await workflow.get_external_workflow_handle(self.compliance_id).signal("stop", "dibatalkan")
            return self.snapshot()

    @cancel.validator
    def _validate_cancel(self, cmd: CancelCommand) -> None:
        self._check_cancel(cmd)

    # -- return and resubmit --------------------------------------------------------------------------

    def _check_resubmit(self, cmd: ResubmitCommand) -> None:
        if cmd.actor != self.inp.requester.nip:
            raise _fail("not_requester", "Hanya pengaju yang dapat mengajukan ulang.")
        if self.status != RequestStatus.RETURNED.value:
            raise _fail(
                "not_returned",
                f"Hanya pengajuan yang dikembalikan yang dapat diajukan ulang (status {self.status}).",
            )

    @workflow.update
    async def resubmit(self, cmd: ResubmitCommand) -> RequestSnapshot:
        async with self.lock:
            self._check_resubmit(cmd)
            previous_leave = self.held
            new_leave = self._leave_claims(cmd.evaluation)
            if [(c.quota, c.amount) for c in previous_leave] != [(c.quota, c.amount) for c in new_leave]:
                # Reserve the new days first, counting what this request is about to give back, so a
                # refusal leaves the returned request exactly as it was.
                returning = {c.quota: c.amount for c in previous_leave}
                adjusted = [c.model_copy(update={"limit": c.limit + returning.get(c.quota, 0)}) for c in new_leave]
                reserved = await self._quotas("reserve", adjusted)
                if not reserved.ok:
                    raise _fail("insufficient_leave_balance", "Sisa cuti tahunan tidak mencukupi.")
                await self._release_held("diajukan ulang")
                self.held = new_leave
            self.round += 1
            start = self.returned_at_step if cmd.evaluation.resubmit_from == "returning_tier" else 0
            start = min(start, len(cmd.evaluation.route) - 1)
            self.evaluation = cmd.evaluation
            self.dates = list(cmd.dates)
            assigned, task = self._assignment(start)
            await self._emit(
                (
                    RequestResubmitted(
                        request_id=self.inp.request_id,
                        round=self.round,
                        dates=self.dates,
                        country=cmd.country,
                        personal=cmd.personal,
                        body_sha256=cmd.body_sha256,
                    ),
                    cmd.actor,
                    None,
                ),
                (self._route_determined(), SYSTEM_ACTOR, None),
                (assigned, SYSTEM_ACTOR, None),
            )
            self.task = task
            self.status = RequestStatus.PENDING.value
            return self.snapshot()

    @resubmit.validator
    def _validate_resubmit(self, cmd: ResubmitCommand) -> None:
        self._check_resubmit(cmd)


@workflow.defn(name="ApprovalWorkflow")
class ApprovalWorkflowWithEarlierHistories(ApprovalWorkflow):
    """Requests started by releases before 0.2.0 (and their recorded histories) keep this type and replay the
    paths their patch markers say; nothing new starts as it."""

    @workflow.run
    async def run(self, inp: ApprovalInput) -> RequestSnapshot:
        return await super().run(inp)


def describe(snapshot: RequestSnapshot) -> dict[str, Any]:
    return snapshot.model_dump(mode="json")
