"""Administrator endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request

from contracts.api import DirectoryImportOut
from contracts.common import Role
from services.admin.directory import import_directory
from services.kernel.deps import ContainerDep, PrincipalDep, require_any
from services.kernel.problems import Problem

router = APIRouter(prefix="/api/admin", tags=["admin"])
MAX_CSV_BYTES = 20 * 1024 * 1024


@router.post(
    "/directory",
    response_model=DirectoryImportOut,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
async def post_directory(request: Request, c: ContainerDep, me: PrincipalDep) -> DirectoryImportOut:
    require_any(me, Role.ADMIN)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "text/plain", "application/csv"):
        raise Problem(415, "unsupported_media_type", "Kirim direktori sebagai text/csv.")
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise Problem(413, "too_large", "Berkas direktori terlalu besar.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(422, "not_utf8", "Berkas harus berkodekan UTF-8.") from exc
    return await import_directory(c, text, actor=me.nip, allowed_regions={me.region})
