"""What a caller sees of a request, and who may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.api import DecisionOut, NoticeOut, RefusalOut, RequestOut, RouteStepOut
from contracts.common import PolicyRef, RequestKind, Role
from policy.calendar import format_tanggal
from policy.evaluator import trip_leave_notice
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.privacy import ASK_THE_TABLE, ERASED
from services.kernel.readmodels import local_time
from services.leave.attachments import attachments_out, current_attachments
from services.leave.external import external_approvals_out


async def can_view(c: Container, viewer: Principal, row: asyncpg.Record) -> bool:
    if viewer.nip == row["requester_nip"]:
        return True
    if viewer.region == row["region"] and (viewer.has(Role.INSPECTOR) or viewer.has(Role.ADMIN)):
        return True
    return await is_approver_of(c, viewer, row)


async def can_read_attachments(c: Container, viewer: Principal, row: asyncpg.Record | dict[str, Any]) -> bool:
    """Supporting documents (a doctor's certificate, …): the requester, its approvers and the region's inspectors
    only — not the admin, who runs the directory but has no part in the request."""
    if viewer.nip == row["requester_nip"]:
        return True
    if viewer.region == row["region"] and viewer.has(Role.INSPECTOR):
        return True
    return await is_approver_of(c, viewer, row)


async def is_approver_of(c: Container, viewer: Principal, row: asyncpg.Record | dict[str, Any]) -> bool:
    """On the request's route, assigned one of its tasks, acting for or holding a delegation from such a one."""
    involved = {s["approver_nip"] for s in row["route"]} | {s.get("on_behalf_of") for s in row["route"]}
    involved |= await c.reads.task_people(row["request_id"])
    involved.discard(None)
    if viewer.nip in involved:
        return True
    if viewer.person.acting_for and viewer.person.acting_for in involved:
        return True
    delegations = await c.reads.active_delegations_to(viewer.nip, c.clock.now())
    return any(d["holder_nip"] in involved for d in delegations)


def _named(row: asyncpg.Record | dict[str, Any], decisions: list[dict[str, Any]]) -> set[str]:
    """Whose names a request's view shows: its requester, and who decided each step and on whose behalf."""
    nips = {row["requester_nip"]}
    for d in decisions:
        nips.add(d["actor"])
        if d.get("on_behalf_of"):
            nips.add(d["on_behalf_of"])
    return nips


async def request_out(c: Container, row: asyncpg.Record | dict[str, Any], viewer: Principal | None) -> RequestOut:
    route = row["route"] or []
    decisions = row["decisions"] or []
    read_with_row = set(row.keys())  # ReadModels.request_for_view brings the names and the key with the row
    names = row["view_names"] if "view_names" in read_with_row else await c.reads.names(_named(row, decisions))
    personal: dict[str, Any] | None = None
    if row["personal"] is not None:
        wrapped = row["view_wrapped_key"] if "view_wrapped_key" in read_with_row else ASK_THE_TABLE
        personal = await c.vault.unseal(row["personal"], wrapped_key=wrapped)
    location = None
    if row["country"] or (personal and personal.get("location_text")):
        location = {
            "text": (personal or {}).get("location_text") if personal is not None else ERASED,
            "country": row["country"] or "ID",
        }
    reason = personal.get("reason") if personal is not None else (ERASED if row["personal"] else None)
    refusal = row["refusal"]
    kind = RequestKind(row["kind"])
    leave = None
    if personal is not None and personal.get("leave_address"):
        leave = {"address": personal["leave_address"], "phone": personal.get("leave_phone")}
    elif personal is None and row["personal"] and RequestKind(row["kind"]).is_leave:
        leave = {"address": ERASED, "phone": ERASED}
    if leave is not None and kind == RequestKind.CUTI_TAHUNAN:
        # travel days for a place hard to reach: recorded with the leave debit, never debited
        # (only when asked for: a plain request keeps the {address, phone} shape)
        extra_days = int((row["leave_debit"] or {}).get("extra_days") or 0)
        if extra_days:
            leave = {**leave, "remote_place": True, "extra_days": extra_days}
    attachments = []
    if RequestKind(row["kind"]).is_leave and (viewer is None or await can_read_attachments(c, viewer, row)):
        attachments = await current_attachments(c, row["request_id"])
    external = await external_approvals_out(c, row["request_id"]) if row["kind"] == RequestKind.CLTN else []
    return RequestOut(
        id=row["request_id"],
        status=row["status"],
        kind=row["kind"],
        dates=list(row["dates"]),
        location=location,
        reason=reason,
        work_plan=personal.get("work_plan") if personal else None,
        travel_purpose=row.get("travel_purpose"),
        linked_request_id=await _linked(c, row, kind),
        notices=await _notices(c, row, kind),
        requester={
            "nip": row["requester_nip"],
            "name": row["requester_name"],
            "region": row["region"],
            "opd_code": row["opd_code"],
            "unit_code": row["unit_code"],
        },
        route=[s["tier"] for s in route],
        route_steps=[RouteStepOut(step=i, **s) for i, s in enumerate(route)],
        current_tier=row["current_tier"],
        current_task_id=row["current_task_id"],
        round=row["round"],
        policy=row["policy"],
        citations=row["citations"] or [],
        decisions=[
            DecisionOut(
                task_id=d["task_id"],
                round=d["round"],
                tier=d["tier"],
                decision=d["decision"],
                comment=d.get("comment"),
                dates=d.get("dates"),
                defer_until=d.get("defer_until"),
                binding=bool(d.get("binding")),
                actor=d["actor"],
                actor_name=names.get(d["actor"]),
                on_behalf_of=d.get("on_behalf_of"),
                on_behalf_of_name=names.get(d["on_behalf_of"]) if d.get("on_behalf_of") else None,
                decided_at=datetime.fromisoformat(d["decided_at"]),
            )
            for d in decisions
        ],
        refusal=RefusalOut(**refusal) if refusal else None,
        leave_debit=row["leave_debit"],
        obligations=row["obligations"] or [],
        timezone=row["timezone"],
        clock=row["clock"],
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
        submitted_at_local=local_time(row["submitted_at"], row["timezone"]),
        leave=leave,
        attachments=attachments_out(row["request_id"], attachments),
        external_approvals=external,
    )


async def _linked(c: Container, row: asyncpg.Record | dict[str, Any], kind: RequestKind) -> UUID | None:
    """The request this one is linked with: the one it named, or else the live one that named it."""
    if row.get("linked_request_id") is not None or not (kind.is_travel_abroad or kind.is_leave):
        return row.get("linked_request_id")
    linked: UUID | None = await c.pool.fetchval(
        "SELECT request_id FROM rm_requests WHERE linked_request_id = $1 AND requester_nip = $2 "
        "AND status IN ('PENDING', 'RETURNED', 'APPROVED') ORDER BY submitted_at DESC LIMIT 1",
        row["request_id"],
        row["requester_nip"],
    )
    return linked


async def _notices(c: Container, row: asyncpg.Record | dict[str, Any], kind: RequestKind) -> list[NoticeOut]:
    if not kind.is_travel_abroad or row["policy"] is None:
        return []
    loaded = (await c.policy.packs()).resolve(PolicyRef.model_validate(row["policy"]))
    found = trip_leave_notice(loaded, kind, row.get("travel_purpose"), row["dates"]) if loaded is not None else None
    if found is None or loaded is None:
        return []
    rule, days = found
    return [
        NoticeOut(
            code="leave_required",
            message=(
                "Perjalanan pribadi ini jatuh pada hari kerja "
                + ", ".join(format_tanggal(d) for d in days)
                + ": ajukan cuti untuk hari tersebut dan tautkan dengan izin ini (linked_request_id)."
            ),
            working_days=days,
            citations=[loaded.cite(rule)],
        )
    ]
