"""POST /api/policy/simulate and POST /api/policy/diff: the what-if over HTTP, for inspectors and the portal.

Neither writes anything. A simulation replays the store and can take seconds on a big season, so one runs
at a time per API process (others wait their turn) and the folding runs off the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Role
from policy.packs import MAX_PACK_BYTES, LoadedPack, PackInvalid, load_pack
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.deps import ContainerDep, PrincipalDep, require_any
from services.kernel.problems import Problem
from services.whatif.commands import report_bytes
from services.whatif.diff import diff_packs
from services.whatif.history import DraftConflict
from services.whatif.service import Items, SimulationSpec, check_draft_fits, scope_for, simulate
from services.whatif.simulator import Period

router = APIRouter(prefix="/api/policy", tags=["policy"])
MAX_PERIOD_DAYS = 400
# Above this many requests an HTTP answer lists only the changed ones (every item carries its clauses).
LIST_ALL_UP_TO = 20_000
GATE = "whatif_simulation_gate"


class SimulateIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    pack: str = Field(max_length=MAX_PACK_BYTES, description="the draft pack text (YAML)")
    from_: date = Field(alias="from", description="first requested date the report covers")
    to: date = Field(description="last requested date the report covers")
    up_to_position: int | None = Field(default=None, ge=0, description="read the store up to here (default: head)")
    items: Literal["all", "changed", "none"] = Field(default="all", description="which requests to list")


class DiffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(max_length=MAX_PACK_BYTES, description="the new pack text")
    base: str | None = Field(
        default=None, max_length=MAX_PACK_BYTES, description="the pack to compare with (default: the one in force)"
    )


def parse_pack(text: str, *, field: str = "pack") -> LoadedPack:
    try:
        return load_pack(text)
    except PackInvalid as exc:
        raise Problem(
            422,
            "pack_invalid",
            f"Baris {exc.line}: {exc.reason}",
            field=field,
            line=exc.line,
            reason=exc.reason,
            problems=[{"line": line, "reason": reason} for line, reason in exc.problems],
        ) from exc


def _gate(c: Container) -> asyncio.Semaphore:
    gate = c.extras.get(GATE)
    if gate is None:
        gate = c.extras[GATE] = asyncio.Semaphore(1)
    assert isinstance(gate, asyncio.Semaphore)
    return gate


async def run_simulation(
    c: Container,
    me: Principal,
    text: str,
    start: date,
    end: date,
    items: Items = "all",
    *,
    up_to: int | None = None,
) -> dict[str, Any]:
    """Who may, what is checked and the replay itself; shared by the API and the admin page."""
    require_any(me, Role.ADMIN, Role.INSPECTOR)
    draft = parse_pack(text)
    if not draft.is_baseline and draft.pack.region != me.region:
        raise Problem(
            403, "region_forbidden", "Simulasi hanya untuk paket wilayah Anda sendiri.", region=draft.pack.region
        )
    if end < start:
        raise Problem(422, "period_invalid", "Tanggal akhir (to) sebelum tanggal awal (from).")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise Problem(422, "period_too_long", f"Periode simulasi paling panjang {MAX_PERIOD_DAYS} hari.")
    try:
        check_draft_fits(draft, await c.policy.packs())
        spec = SimulationSpec(
            draft=draft,
            period=Period(start, end),
            regions=scope_for(draft, me.region),
            up_to_position=up_to,
            items=items,
            list_all_up_to=LIST_ALL_UP_TO,
        )
        async with _gate(c):
            return await simulate(c.pool, spec, database_url=c.settings.database_url)
    except DraftConflict as exc:
        raise Problem(422, "draft_conflict", f"Draf tidak dapat diberlakukan: {exc}") from exc


async def diff_against_in_force(c: Container, text: str, base: str | None = None) -> dict[str, Any]:
    new = parse_pack(text)
    if base is not None:
        old = parse_pack(base, field="base")
    else:
        in_force = (await c.policy.packs()).get(new.id)
        if in_force is None:
            raise Problem(404, "pack_not_found", f"Tidak ada paket {new.id!r} yang berlaku untuk dibandingkan.")
        old = in_force
    return diff_packs(old, new)


@router.post(
    "/simulate",
    responses={200: {"description": "`{total, changed, items:[{request_id, then, draft}], ...}`"}},
)
async def simulate_draft(body: SimulateIn, c: ContainerDep, me: PrincipalDep) -> Response:
    """What the draft would have decided for every recorded request of the caller's region in the period."""
    report = await run_simulation(c, me, body.pack, body.from_, body.to, body.items, up_to=body.up_to_position)
    return Response(content=report_bytes(report), media_type="application/json")


@router.post("/diff")
async def diff(body: DiffIn, c: ContainerDep, me: PrincipalDep) -> Response:
    """Rule-by-rule differences; without `base`, against the pack in force with the same id."""
    return Response(
        content=report_bytes(await diff_against_in_force(c, body.pack, body.base)), media_type="application/json"
    )
