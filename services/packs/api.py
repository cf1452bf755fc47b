"""The pack in force, readable by any signed-in user (GET /api/policy/packs/{id})."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.deps import ContainerDep, PrincipalDep
from services.problems import Problem

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
