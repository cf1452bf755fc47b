"""GET /api/leave/balance: the annual-leave record N-2/N-1/N (DESIGN.md, Leave per the national procedure)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.api import LeaveRecordOut
from services.kernel.deps import ContainerDep, PrincipalDep
from services.leave_record.record import leave_balance

router = APIRouter(tags=["leave"])


@router.get("/api/leave/balance", response_model=LeaveRecordOut)
async def balance(
    c: ContainerDep,
    me: PrincipalDep,
    nip: Annotated[str | None, Query(pattern=r"^[0-9]{18}$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2099)] = None,
) -> LeaveRecordOut:
    return await leave_balance(c, me, nip, year)
