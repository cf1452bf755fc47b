"""Requester endpoints."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query

from contracts.api import CancelIn, RequestOut, SubmitRequestIn
from services.kernel.deps import ContainerDep, PrincipalDep
from services.kernel.problems import Problem
from services.requests import commands
from services.requests.views import can_view, request_out

router = APIRouter(prefix="/api/requests", tags=["requests"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.post("", status_code=201, response_model=RequestOut)
async def submit(body: SubmitRequestIn, c: ContainerDep, me: PrincipalDep, key: IdempotencyKey = None) -> RequestOut:
    return await commands.submit_request(c, me, body, key)


@router.get("", response_model=list[RequestOut])
async def list_requests(c: ContainerDep, me: PrincipalDep, mine: Annotated[bool, Query()] = True) -> list[RequestOut]:
    if mine or not (me.is_inspector or me.is_admin):
        rows = await c.reads.requests_of(me.nip)
    else:
        rows = await c.reads.requests_in_region(me.region)
    return [await request_out(c, r, me) for r in rows]


@router.get("/{request_id}", response_model=RequestOut)
async def get_request(request_id: UUID, c: ContainerDep, me: PrincipalDep) -> RequestOut:
    row = await c.reads.request_for_view(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if not await can_view(c, me, row):
        raise Problem(403, "forbidden", "Anda tidak berhak melihat pengajuan ini.")
    return await request_out(c, row, me)


@router.post("/{request_id}/cancel", response_model=RequestOut)
async def cancel(
    request_id: UUID, c: ContainerDep, me: PrincipalDep, body: CancelIn | None = None, key: IdempotencyKey = None
) -> RequestOut:
    return await commands.cancel_request(c, me, request_id, body or CancelIn(), key)


@router.post("/{request_id}/resubmit", response_model=RequestOut)
async def resubmit(
    request_id: UUID, body: SubmitRequestIn, c: ContainerDep, me: PrincipalDep, key: IdempotencyKey = None
) -> RequestOut:
    return await commands.resubmit_request(c, me, request_id, body, key)
