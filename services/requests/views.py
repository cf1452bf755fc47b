"""What a caller sees of a request, and who may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contracts.api import DecisionOut, RefusalOut, RequestOut, RouteStepOut
from contracts.common import Role
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.privacy import ERASED
from services.kernel.readmodels import local_time


async def can_view(c: Container, viewer: Principal, row: asyncpg.Record) -> bool:
    if viewer.nip == row["requester_nip"]:
        return True
    if viewer.region == row["region"] and (viewer.has(Role.INSPECTOR) or viewer.has(Role.ADMIN)):
        return True
    involved = {s["approver_nip"] for s in row["route"]} | {s.get("on_behalf_of") for s in row["route"]}
    involved |= await c.reads.task_people(row["request_id"])
    involved.discard(None)
    if viewer.nip in involved:
        return True
    if viewer.person.acting_for and viewer.person.acting_for in involved:
        return True
    delegations = await c.reads.active_delegations_to(viewer.nip, c.clock.now())
    return any(d["holder_nip"] in involved for d in delegations)


async def request_out(c: Container, row: asyncpg.Record | dict[str, Any], viewer: Principal | None) -> RequestOut:
    route = row["route"] or []
    decisions = row["decisions"] or []
    nips = {row["requester_nip"]}
    for d in decisions:
        nips.add(d["actor"])
        if d.get("on_behalf_of"):
            nips.add(d["on_behalf_of"])
    names = await c.reads.names(nips)
    personal: dict[str, Any] | None = None
    if row["personal"] is not None:
        personal = await c.vault.unseal(row["personal"])
    location = None
    if row["country"] or (personal and personal.get("location_text")):
        location = {
            "text": (personal or {}).get("location_text") if personal is not None else ERASED,
            "country": row["country"] or "ID",
        }
    reason = personal.get("reason") if personal is not None else (ERASED if row["personal"] else None)
    refusal = row["refusal"]
    return RequestOut(
        id=row["request_id"],
        status=row["status"],
        kind=row["kind"],
        dates=list(row["dates"]),
        location=location,
        reason=reason,
        work_plan=personal.get("work_plan") if personal else None,
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
    )
