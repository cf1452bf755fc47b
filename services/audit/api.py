"""Inspector endpoints: a request's stream with hashes, and verification of the whole log."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from contracts.api import AuditEventOut, VerifyOut
from contracts.common import Role
from contracts.events import request_stream
from services.audit.service import verify_store
from services.deps import ContainerDep, PrincipalDep, require_any
from services.problems import Problem

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/requests/{request_id}", response_model=list[AuditEventOut])
async def request_events(request_id: UUID, c: ContainerDep, me: PrincipalDep) -> list[AuditEventOut]:
    """The request's stream, in order, with every hash an inspector needs to check it."""
    require_any(me, Role.INSPECTOR, Role.ADMIN)
    row = await c.reads.request(request_id)
    events = await c.store.read_stream(request_stream(request_id))
    if row is None and not events:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    region = row["region"] if row is not None else events[0].payload.get("region")
    if region != me.region:
        raise Problem(403, "region_forbidden", "Pengajuan ini milik pemerintah daerah lain.")
    return [AuditEventOut(**e.model_dump()) for e in events]


@router.get("/verify", response_model=VerifyOut)
async def verify(c: ContainerDep, me: PrincipalDep) -> VerifyOut:
    require_any(me, Role.INSPECTOR, Role.ADMIN)
    report = await verify_store(c.pool)
    return VerifyOut(**report.as_dict())
