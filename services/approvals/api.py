"""Approver endpoints: the inbox, decisions (one or many), delegations."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response

from contracts.api import (
    BulkDecisionIn,
    BulkDecisionOut,
    DecisionIn,
    DelegationIn,
    DelegationOut,
    RequestOut,
    TaskOut,
)
from services.approvals import commands
from services.kernel.deps import ContainerDep, PrincipalDep

router = APIRouter(tags=["approvals"])


@router.get("/api/tasks", response_model=list[TaskOut])
async def list_tasks(
    response: Response,
    c: ContainerDep,
    me: PrincipalDep,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    date: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    unit: Annotated[str | None, Query(max_length=60)] = None,
) -> list[TaskOut]:
    tasks = await commands.inbox(c, me, kind=kind, day=date, unit=unit)
    response.headers["X-Total-Count"] = str(len(tasks))
    return tasks


@router.post("/api/tasks/decisions", response_model=BulkDecisionOut)
async def decide_many(body: BulkDecisionIn, c: ContainerDep, me: PrincipalDep) -> BulkDecisionOut:
    return await commands.decide_many(c, me, body)


@router.post("/api/tasks/{task_id}/decision", response_model=RequestOut)
async def decide(
    task_id: Annotated[str, commands.TaskIdPath],
    body: DecisionIn,
    c: ContainerDep,
    me: PrincipalDep,
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> RequestOut:
    return await commands.decide(c, me, task_id, body, key)


@router.post("/api/delegations", status_code=201, response_model=DelegationOut)
async def delegate(body: DelegationIn, c: ContainerDep, me: PrincipalDep) -> DelegationOut:
    return await commands.grant_delegation(c, me, body)


@router.delete("/api/delegations/{delegation_id}", status_code=204)
async def revoke(delegation_id: UUID, c: ContainerDep, me: PrincipalDep) -> Response:
    await commands.revoke_delegation(c, me, delegation_id)
    return Response(status_code=204)
