"""Leave endpoints beyond the request itself: supporting documents, BKN's consideration, the year's export.

They read who may see a request (`views`), so they live with the requests capability; the files, the
consideration and the export themselves are `services/leave/`, below it."""

from __future__ import annotations

import hashlib
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from contracts.api import ExternalApprovalIn, ExternalApprovalOut
from contracts.common import Role
from services.kernel.deps import ContainerDep, PrincipalDep
from services.kernel.problems import Problem
from services.leave.attachments import current_attachments, open_file
from services.leave.export import leave_export
from services.leave.external import record_external_approval, recorded_approvals
from services.leave.files import download_name
from services.requests.views import can_read_attachments, can_view

router = APIRouter(tags=["leave"])


@router.get("/api/requests/{request_id}/attachments/{file_id}", response_class=Response)
async def download_attachment(request_id: UUID, file_id: UUID, c: ContainerDep, me: PrincipalDep) -> Response:
    row = await c.reads.request(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    listed = {a.file_id for a in await current_attachments(c, request_id)}
    external = {p.document.file_id for p, _, _ in await recorded_approvals(c, request_id) if p.document}
    if file_id in listed:
        allowed = await can_read_attachments(c, me, row)
    elif file_id in external:
        allowed = await can_view(c, me, row)  # BKN's letter: the admin who recorded it may read it back
    else:
        allowed = False
    if not allowed:
        # a stranger learns nothing, not even whether the file exists
        raise Problem(404, "attachment_not_found", "Lampiran tidak ditemukan.")
    stored, content = await open_file(c, request_id, file_id)
    if hashlib.sha256(content).hexdigest() != stored["sha256"]:
        raise Problem(500, "attachment_corrupt", "Isi lampiran tidak cocok dengan hash yang tercatat.")
    filename = download_name(stored["name"], stored["media_type"])
    return Response(
        content,
        media_type=stored["media_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/api/requests/{request_id}/external-approvals", status_code=201, response_model=ExternalApprovalOut)
async def external_approval(
    request_id: UUID, body: ExternalApprovalIn, c: ContainerDep, me: PrincipalDep
) -> ExternalApprovalOut:
    return await record_external_approval(c, me, request_id, body)


@router.get(
    "/api/leave/export",
    response_class=Response,
    responses={200: {"description": "CSV, one row per leave decided in the year", "content": {"text/csv": {}}}},
)
async def export(c: ContainerDep, me: PrincipalDep, year: Annotated[int, Query(ge=2000, le=2100)]) -> Response:
    if not (me.has(Role.ADMIN) or me.has(Role.INSPECTOR)):
        raise Problem(403, "forbidden", "Hanya admin kepegawaian dan inspektur yang dapat mengunduh rekap cuti.")
    text = await leave_export(c.pool, year=year, region=me.region)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cuti-{me.region}-{year}.csv"'},
    )
