"""The pack in force, readable by any signed-in user (GET /api/policy/packs/{id})."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from contracts.common import Role
from policy.packs import PackInvalid, load_pack
from services.kernel.deps import ContainerDep, PrincipalDep, require_any
from services.kernel.problems import Problem
from services.packs.registry import PackVersionConflict, publish_pack

router = APIRouter(prefix="/api/policy", tags=["policy"])


class PackOut(BaseModel):
    id: str
    version: str
    sha256: str
    region: str | None
    name: str
    timezone: str
    text: str


@router.get("/packs/{pack_id}", response_model=PackOut)
async def pack_in_force(pack_id: str, c: ContainerDep, me: PrincipalDep) -> PackOut:
    loaded = (await c.policy.packs()).get(pack_id)
    if loaded is None:
        raise Problem(404, "pack_not_found", f"Paket kebijakan {pack_id!r} tidak ditemukan.")
    return PackOut(
        id=loaded.id,
        version=loaded.version,
        sha256=loaded.sha256,
        region=loaded.pack.region,
        name=loaded.pack.name,
        timezone=loaded.pack.timezone,
        text=loaded.text,
    )


class PublishedOut(BaseModel):
    id: str
    version: str
    sha256: str
    position: int | None
    unchanged: bool


@router.post(
    "/packs",
    response_model=PublishedOut,
    status_code=201,
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}},
)
async def publish(request: Request, c: ContainerDep, me: PrincipalDep) -> PublishedOut:
    """Publish a new version of the caller's region pack; requests in flight keep the version they were judged by."""
    require_any(me, Role.ADMIN)
    raw = await request.body()
    if len(raw) > 512 * 1024:
        raise Problem(413, "too_large", "Paket kebijakan terlalu besar.")
    try:
        text = raw.decode("utf-8")
        loaded = load_pack(text)
    except UnicodeDecodeError as exc:
        raise Problem(422, "not_utf8", "Paket harus berkodekan UTF-8.") from exc
    except PackInvalid as exc:
        raise Problem(422, "pack_invalid", f"Baris {exc.line}: {exc.reason}", line=exc.line, reason=exc.reason) from exc
    if loaded.is_baseline or loaded.pack.region != me.region:
        raise Problem(403, "region_forbidden", "Admin hanya dapat menerbitkan paket wilayahnya sendiri.")
    try:
        published = await publish_pack(c.store, c.clock, text, actor=me.nip)
    except PackVersionConflict as exc:
        raise Problem(409, "pack_version_exists", str(exc)) from exc
    if published.position is not None:
        await c.waiter.wait_for(published.position, timeout=c.settings.read_your_writes_timeout_seconds)
    return PublishedOut(
        id=loaded.id,
        version=loaded.version,
        sha256=loaded.sha256,
        position=published.position,
        unchanged=published.unchanged,
    )
