"""Approver commands and the inbox: decide (one or many), delegate, list open tasks."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from fastapi import Path

from contracts.api import (
    BulkDecisionIn,
    BulkDecisionOut,
    BulkItemResult,
    DecisionIn,
    DelegationIn,
    DelegationOut,
    LeaveBalanceOut,
    RequestOut,
    TaskOut,
    UnitLoadDay,
)
from contracts.common import Role, Tier
from contracts.events import DelegationGranted, DelegationRevoked
from eventstore.store import AppendUnit, NewEvent
from services.approvals.leave_decisions import leave_decision_terms
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem
from services.kernel.readmodels import local_time
from services.kernel.temporal_errors import problem_from_update_error
from services.leave.external import ensure_external_approval
from services.leave_record.record import leave_record_for
from services.requests.commands import update_id, visible_request
from workflows.approval.models import DecideCommand, RequestSnapshot, request_id_of_task, workflow_id_for
from workflows.approval.workflow import ApprovalWorkflow

log = structlog.get_logger(__name__)
HEAD_ROLES = (Role.UNIT_HEAD, Role.OPD_HEAD, Role.PPK)
TaskIdPath = Path(pattern=r"^[0-9a-f-]{36}-r\d+s\d+$", max_length=60)


async def authority_for(c: Container, me: Principal, task: Any, request: Any) -> tuple[str | None, str]:
    """On whose behalf `me` may decide `task` of `request` (its row): (on_behalf_of, via). (None, 'none') when
    not at all."""
    holder = task["assignee_nip"]
    if me.nip == holder:
        step = request["route"][task["step"]] if request and task["step"] < len(request["route"]) else {}
        return step.get("on_behalf_of"), "direct"
    if task["escalated_to"] == me.nip:
        return holder, "escalation"
    if me.person.acting_for == holder:
        return holder, "acting"
    for d in await c.reads.active_delegations_to(me.nip, c.clock.now()):
        if d["holder_nip"] == holder and task["tier"] in d["tiers"]:
            return holder, "delegation"
    return None, "none"


async def decide(
    c: Container, me: Principal, task_id: str, body: DecisionIn, idempotency_key: str | None = None
) -> RequestOut:
    task = await c.reads.task(task_id)
    if task is None:
        raise Problem(404, "task_not_found", "Tugas tidak ditemukan.")
    request = await c.reads.request(task["request_id"])  # read once for every check below
    on_behalf_of, via = await authority_for(c, me, task, request)
    # Someone the task is not for learns nothing from the terms: the workflow refuses them as not_assignee.
    terms = await leave_decision_terms(c, task, request, body) if via != "none" else {}
    if via != "none" and task["status"] == "open" and request is not None:
        # a CLTN's grant waits for BKN's consideration; checked here, before the workflow hears of it
        await ensure_external_approval(c, request, task, body.decision.value)
    command = DecideCommand(
        task_id=task_id,
        decision=body.decision,
        comment=body.comment,
        actor=me.nip,
        on_behalf_of=on_behalf_of,
        **terms,
    )
    handle = c.temporal.get_workflow_handle(workflow_id_for(request_id_of_task(task_id)))
    started = time.perf_counter()
    try:
        snapshot: RequestSnapshot = await handle.execute_update(
            ApprovalWorkflow.decide,
            command,
            id=update_id("decide", task_id, me, idempotency_key),
            result_type=RequestSnapshot,
        )
    except Exception as exc:
        problem = problem_from_update_error(exc, finished_detail="Tugas ini sudah diputuskan.")
        if problem.code == "request_finished":
            problem = Problem(409, "already_decided", "Tugas ini sudah diputuskan.")
        raise problem from exc
    recorded = time.perf_counter()
    view = await visible_request(c, snapshot.request_id, snapshot.last_position, me)
    log.info(
        "decision_recorded",
        task_id=task_id,
        decision=body.decision.value,
        via=via,
        status=snapshot.status,
        workflow_ms=round((recorded - started) * 1000, 1),
        visible_ms=round((time.perf_counter() - recorded) * 1000, 1),
    )
    if snapshot.refusal is not None:
        raise Problem(
            422,
            snapshot.refusal.code,
            snapshot.refusal.message,
            title="Ditolak oleh kebijakan",
            citations=[ct.model_dump(mode="json") for ct in snapshot.refusal.citations],
            request=view.model_dump(mode="json"),
        )
    return view


async def decide_many(c: Container, me: Principal, body: BulkDecisionIn) -> BulkDecisionOut:
    async def one(item: Any) -> BulkItemResult:
        try:
            fields = item.model_dump(include={"decision", "comment", "dates", "defer_until"})
            view = await decide(c, me, item.task_id, DecisionIn(**fields))
            return BulkItemResult(task_id=item.task_id, ok=True, status=200, request=view)
        except Problem as problem:
            return BulkItemResult(
                task_id=item.task_id,
                ok=False,
                status=problem.status,
                code=problem.code,
                detail=problem.detail,
            )

    results = list(await asyncio.gather(*(one(item) for item in body.items)))
    ok = sum(1 for r in results if r.ok)
    return BulkDecisionOut(results=results, succeeded=ok, failed=len(results) - ok)


async def inbox(
    c: Container, me: Principal, *, kind: str | None = None, day: str | None = None, unit: str | None = None
) -> list[TaskOut]:
    now = c.clock.now()
    holders = {me.nip: "direct"}
    if me.person.acting_for:
        holders[me.person.acting_for] = "acting"
    delegated_tiers: dict[str, set[str]] = {}
    for d in await c.reads.active_delegations_to(me.nip, now):
        holders.setdefault(d["holder_nip"], "delegation")
        delegated_tiers.setdefault(d["holder_nip"], set()).update(d["tiers"])
    rows = await c.reads.open_tasks_for(list(holders), me.nip)
    directory = await c.reads.directory()
    tasks = []
    for t in rows:
        if t["requester_nip"] == me.nip:
            continue  # never offer someone their own request
        via = (
            "escalation"
            if t["escalated_to"] == me.nip and t["assignee_nip"] != me.nip
            else holders.get(t["assignee_nip"], "direct")
        )
        if via == "delegation" and t["tier"] not in delegated_tiers.get(t["assignee_nip"], set()):
            continue
        if kind and t["kind"] != kind:
            continue
        if unit and t["unit_code"] != unit:
            continue
        if day and day not in {d.isoformat() for d in t["dates"]}:
            continue
        requester = directory.get(t["requester_nip"])
        size = directory.unit_size(t["region"], t["unit_code"])
        load = await c.reads.unit_load(t["region"], t["unit_code"], list(t["dates"]), size)
        balance = await leave_balance(c, t["requester_nip"], t["leave_debit"]) if t["kind"].startswith("CUTI") else None
        record = await leave_record_for(c, t["requester_nip"], t["kind"], list(t["dates"]))
        tasks.append(
            TaskOut(
                task_id=t["task_id"],
                request_id=t["request_id"],
                kind=t["kind"],
                dates=list(t["dates"]),
                tier=t["tier"],
                action=t["action"],
                round=t["round"],
                requester={
                    "nip": t["requester_nip"],
                    "name": t["requester_name"],
                    "unit_code": t["unit_code"],
                    "unit_name": requester.unit_name if requester else None,
                    "employee_type": requester.employee_type.value if requester else None,
                },
                assignee_nip=t["assignee_nip"],
                on_behalf_of=t["assignee_nip"] if via in ("acting", "delegation", "escalation") else None,
                via=via,  # type: ignore[arg-type]
                assigned_at=t["assigned_at"],
                assigned_at_local=local_time(t["assigned_at"], t["timezone"]),
                remind_at=t["remind_at"],
                escalate_at=t["escalate_at"],
                overdue=bool(t["remind_at"] and now >= t["remind_at"]),
                reminders=t["reminders"],
                balance=balance,
                leave_record=record,
                unit_load=[UnitLoadDay(**d) for d in load],
            )
        )
    return tasks


async def leave_balance(c: Container, nip: str, debit: dict[str, Any] | None) -> LeaveBalanceOut | None:
    if not debit:
        return None
    year = int(debit["year"])
    rows = await c.reads.leave_rows(nip, year)
    reserved = sum(r["days"] for r in rows if r["state"] == "reserved")
    used = sum(r["days"] for r in rows if r["state"] == "consumed")
    entitlement = int(debit["entitlement"])
    return LeaveBalanceOut(
        year=year,
        entitlement=entitlement,
        reserved=reserved,
        used=used,
        available=entitlement - reserved - used,
    )


async def grant_delegation(c: Container, me: Principal, body: DelegationIn) -> DelegationOut:
    holder_nip = body.holder_nip or me.nip
    if holder_nip != me.nip and not me.is_admin:
        raise Problem(403, "forbidden", "Hanya admin yang dapat mendelegasikan atas nama pejabat lain.")
    holder = await c.reads.person(holder_nip)
    delegate = await c.reads.person(body.delegate_nip)
    if holder is None or delegate is None:
        raise Problem(422, "unknown_person", "Pemberi atau penerima delegasi tidak ada di direktori.")
    if holder.region != me.region or delegate.region != holder.region:
        raise Problem(403, "region_forbidden", "Delegasi hanya di dalam satu pemerintah daerah.")
    if not any(r in holder.roles for r in HEAD_ROLES):
        raise Problem(422, "not_a_holder", "Pemberi delegasi tidak memegang jabatan penyetuju.")
    if delegate.nip == holder.nip:
        raise Problem(422, "self_delegation", "Tidak dapat mendelegasikan kepada diri sendiri.")
    if body.to <= body.from_ or body.to - body.from_ > timedelta(days=366):
        raise Problem(422, "invalid_period", "Masa delegasi harus berurutan dan paling lama satu tahun.")
    delegation_id = uuid.uuid4()
    payload = DelegationGranted(
        delegation_id=delegation_id,
        holder_nip=holder.nip,
        delegate_nip=delegate.nip,
        tiers=sorted(set(body.tiers)),
        valid_from=body.from_,
        valid_to=body.to,
    )
    position = await _append_admin_event(
        c, me, f"delegation-{holder.nip}", payload, on_behalf_of=holder.nip if holder.nip != me.nip else None
    )
    await c.waiter.wait_for(position, timeout=c.settings.read_your_writes_timeout_seconds)
    return DelegationOut(
        id=delegation_id,
        holder_nip=holder.nip,
        delegate_nip=delegate.nip,
        tiers=[Tier(t) for t in payload.tiers],
        valid_from=body.from_,
        valid_to=body.to,
    )


async def revoke_delegation(c: Container, me: Principal, delegation_id: UUID) -> None:
    row = await c.pool.fetchrow("SELECT * FROM rm_delegations WHERE delegation_id = $1", delegation_id)
    if row is None:
        raise Problem(404, "delegation_not_found", "Delegasi tidak ditemukan.")
    holder = await c.reads.person(row["holder_nip"])
    same_region_admin = me.is_admin and holder is not None and holder.region == me.region
    if row["holder_nip"] != me.nip and not same_region_admin:
        raise Problem(403, "forbidden", "Hanya pemberi delegasi atau admin yang dapat mencabutnya.")
    payload = DelegationRevoked(
        delegation_id=delegation_id, holder_nip=row["holder_nip"], delegate_nip=row["delegate_nip"]
    )
    position = await _append_admin_event(c, me, f"delegation-{row['holder_nip']}", payload)
    await c.waiter.wait_for(position, timeout=c.settings.read_your_writes_timeout_seconds)


async def _append_admin_event(
    c: Container, me: Principal, stream: str, payload: Any, on_behalf_of: str | None = None
) -> int:
    correlation = structlog.contextvars.get_contextvars().get("correlation_id") or uuid.uuid4().hex
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=c.clock.now(),
        actor=me.nip,
        on_behalf_of=on_behalf_of,
        correlation_id=str(correlation),
        clock=c.clock.mode,
    )
    appended = await c.store.append(AppendUnit([event]))
    return appended[-1].position
