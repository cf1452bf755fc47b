"""The OPD board: per OPD and day, who is WFO / WFH / WFA / on leave and whether watched units are staffed.
The public variant shows counts only, for the circulars' duty to inform the public that services go on."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.zones import fixed_zone
from policy.evaluator import staffing_minimum_for, window_days
from policy.packs import LoadedPack
from services.kernel.container import Container
from services.kernel.deps import ContainerDep, PrincipalDep
from services.portal.board import (
    PUBLIC_MIN_GROUP,
    STATUS_LABELS,
    STATUSES,
    OpdDay,
    board_for_day,
    chart_data,
    public_view,
)
from services.portal.options import region_zone
from services.portal.queries import away_on, missed_duties_on, people_of_region, regions
from services.portal.web import PageProblem, ViewerDep, render

router = APIRouter()


async def _pick_day(c: Container, region: str, tanggal: str | None) -> date:
    if tanggal:
        try:
            return date.fromisoformat(tanggal)
        except ValueError as exc:
            raise PageProblem(422, "Tanggal tidak valid; gunakan format TTTT-BB-HH.") from exc
    return c.clock.now().astimezone(fixed_zone(await region_zone(c, region))).date()


async def _pack(c: Container, region: str) -> LoadedPack:
    packs = await c.policy.packs()
    return packs.for_region(region) or packs.baseline


def _quick_days(day: date, pack: LoadedPack) -> list[date]:
    return sorted({day - timedelta(days=1), day, day + timedelta(days=1), *window_days(pack)})


async def _board(c: Container, region: str, day: date) -> list[OpdDay]:
    pack = await _pack(c, region)
    return board_for_day(
        await people_of_region(c.pool, region),
        await away_on(c.pool, region, day),
        lambda opd_class: staffing_minimum_for(pack, opd_class),
        await missed_duties_on(c.pool, region, day),
    )


def _context(
    board: list[OpdDay], all_opds: list[OpdDay], day: date, opd: str | None, pack: LoadedPack
) -> dict[str, object]:
    return {
        "board": board,
        "opds": [(o.opd_code, o.opd_name) for o in all_opds],
        "day": day,
        "quick_days": _quick_days(day, pack),
        "opd": opd or "",
        "statuses": STATUSES,
        "status_labels": STATUS_LABELS,
        "chart": json.dumps(chart_data(board)),
        "alerts": [(o, u) for o in board for u in o.understaffed],
    }


@router.get("/papan")
async def board_page(
    request: Request,
    c: ContainerDep,
    me: ViewerDep,
    tanggal: Annotated[str | None, Query(max_length=10)] = None,
    opd: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    region = me.person.region
    day = await _pick_day(c, region, tanggal)
    everything = await _board(c, region, day)
    board = [o for o in everything if o.opd_code == opd] if opd else everything
    context = _context(board, everything, day, opd, await _pack(c, region))
    return await render(request, "board.html", {**context, "public": False, "region": region}, viewer=me)


@router.get("/api/papan")
async def board_api(
    c: ContainerDep,
    me: PrincipalDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    opd: Annotated[str | None, Query(max_length=60)] = None,
) -> dict[str, Any]:
    """The board of the caller's region as JSON: per OPD and unit, counts and names per status."""
    region = me.person.region
    when = day or await _pick_day(c, region, None)
    board = [o for o in await _board(c, region, when) if not opd or o.opd_code == opd]
    return {
        "date": when.isoformat(),
        "region": region,
        "statuses": {s: STATUS_LABELS[s] for s in STATUSES},
        "opds": [
            {
                "opd_code": o.opd_code,
                "opd_name": o.opd_name,
                "opd_class": o.opd_class,
                "totals": o.totals,
                "units": [
                    {
                        "unit_code": u.unit_code,
                        "unit_name": u.unit_name,
                        "size": u.size,
                        "counts": u.counts,
                        "people": {s: names for s, names in u.people.items() if s != "WFO"},
                        "staffed": u.staffed,
                        "missed_duties": u.missed_duties,
                    }
                    for u in o.units
                ],
            }
            for o in board
        ],
    }


@router.get("/papan/publik")
async def public_board(
    request: Request,
    c: ContainerDep,
    wilayah: Annotated[str | None, Query(max_length=40)] = None,
    tanggal: Annotated[str | None, Query(max_length=10)] = None,
    opd: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    known = await regions(c.pool)
    region = wilayah if wilayah in known else None
    if region is None:
        return await render(request, "board_public_index.html", {"regions": known})
    day = await _pick_day(c, region, tanggal)
    everything = public_view(await _board(c, region, day))  # names never reach the template
    board = [o for o in everything if o.opd_code == opd] if opd else everything
    context = _context(board, everything, day, opd, await _pack(c, region))
    zone = await region_zone(c, region)
    context.update(public=True, region=region, public_min_group=PUBLIC_MIN_GROUP)
    return await render(request, "board.html", context, zone=zone)
