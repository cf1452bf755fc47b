"""Endpoints for duties during approved days (check-ins, reports) and for superiors who monitor them."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.compliance import commands
from services.compliance.models import (
    AcknowledgeIn,
    CheckInIn,
    DutyOut,
    DutyResultOut,
    PiketIn,
    PiketOut,
    ReportIn,
)
from services.kernel.deps import ContainerDep, PrincipalDep

router = APIRouter(tags=["compliance"])
UnitQuery = Annotated[str | None, Query(max_length=60)]


@router.post("/api/requests/{request_id}/check-ins", status_code=201, response_model=DutyResultOut)
async def check_in(request_id: UUID, body: CheckInIn, c: ContainerDep, me: PrincipalDep) -> DutyResultOut:
    return await commands.check_in(c, me, request_id, body)


@router.post("/api/requests/{request_id}/reports", status_code=201, response_model=DutyResultOut)
async def report(request_id: UUID, body: ReportIn, c: ContainerDep, me: PrincipalDep) -> DutyResultOut:
    return await commands.submit_report(c, me, request_id, body)


@router.get("/api/compliance", response_model=list[DutyOut])
async def day_view(
    c: ContainerDep, me: PrincipalDep, day: Annotated[date, Query(alias="date")], unit: UnitQuery = None
) -> list[DutyOut]:
    return await commands.day_view(c, me, day, unit)


@router.get(
    "/api/compliance/export.csv",
    response_class=Response,
    responses={200: {"description": "CSV, one row per duty", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def day_csv(
    c: ContainerDep, me: PrincipalDep, day: Annotated[date, Query(alias="date")], unit: UnitQuery = None
) -> Response:
    text = await commands.day_csv(c, me, day, unit)
    # The unit comes from the query string: keep only safe characters in a response header.
    label = re.sub(r"[^A-Za-z0-9._-]", "_", unit or me.region)
    filename = f"kepatuhan-{label}-{day.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/compliance/tasks", response_model=list[DutyOut])
async def open_tasks(c: ContainerDep, me: PrincipalDep) -> list[DutyOut]:
    return await commands.open_tasks(c, me)


@router.post("/api/compliance/tasks/{task_id}/acknowledge", response_model=DutyOut)
async def acknowledge(task_id: str, c: ContainerDep, me: PrincipalDep, body: AcknowledgeIn | None = None) -> DutyOut:
    return await commands.acknowledge(c, me, task_id, body or AcknowledgeIn())


@router.post("/api/piket", status_code=201, response_model=PiketOut)
async def set_piket(body: PiketIn, c: ContainerDep, me: PrincipalDep) -> PiketOut:
    return await commands.set_piket(c, me, body)


@router.post("/api/piket/{roster_id}/check-ins", status_code=201, response_model=DutyResultOut)
async def piket_check_in(roster_id: UUID, c: ContainerDep, me: PrincipalDep) -> DutyResultOut:
    return await commands.piket_check_in(c, me, roster_id)
