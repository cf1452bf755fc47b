"""A minimal admin page for the what-if: paste or upload a draft, see the simulation and the rule changes.

Server-rendered with Jinja2 and no script or inline style (the CSP allows only our own files); the chart is
an SVG drawn here. The page only reads: publishing stays `POST /api/policy/packs`, so a forged form can at
worst start a simulation. The portal can replace this page and keep using the JSON APIs.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from contracts.common import Role
from services.kernel.deps import ContainerDep, PrincipalDep, require_any
from services.kernel.problems import Problem
from services.whatif.api import diff_against_in_force, run_simulation
from services.whatif.decision import DECISIVE
from services.whatif.render import CHANGE_NAMES, OUTCOME_LABELS

router = APIRouter(prefix="/kebijakan", tags=["portal"], include_in_schema=False)
PAGE = "/kebijakan/simulasi"
SEASON_DEFAULT = (date(2025, 12, 22), date(2026, 1, 9))
CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 560, 9, 92


@lru_cache(maxsize=1)
def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("services.whatif", "templates"), autoescape=select_autoescape(["html"])
    )
    environment.filters["outcome"] = lambda v: OUTCOME_LABELS.get(v, v or "-")
    environment.filters["changes"] = lambda v: ", ".join(CHANGE_NAMES.get(c, c) for c in v)
    return environment


def chart(by_day: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per day: people approved away from the office as recorded and under the draft."""
    peak = max([1, *(max(r["approved_away_then"], r["approved_away_draft"]) for r in by_day)])
    scale = (CHART_WIDTH - LABEL_WIDTH - 40) / peak
    rows = []
    for i, row in enumerate(by_day):
        y = 8 + i * (2 * BAR_HEIGHT + 8)
        rows.append(
            {
                "label": row["date"],
                "y": y,
                "then": round(row["approved_away_then"] * scale, 1),
                "draft": round(row["approved_away_draft"] * scale, 1),
                "then_value": row["approved_away_then"],
                "draft_value": row["approved_away_draft"],
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": 16 + len(rows) * (2 * BAR_HEIGHT + 8),
        "x": LABEL_WIDTH,
        "bar": BAR_HEIGHT,
        "rows": rows,
    }


def _page(**context: Any) -> HTMLResponse:
    html = _templates().get_template("simulate.html").render(page=PAGE, decisive=DECISIVE, **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get(PAGE.removeprefix("/kebijakan"), response_class=HTMLResponse)
async def simulate_form(me: PrincipalDep) -> HTMLResponse:
    require_any(me, Role.ADMIN, Role.INSPECTOR)
    return _page(me=me, start=SEASON_DEFAULT[0], end=SEASON_DEFAULT[1], pack="", report=None, diff=None, error=None)


@router.post(PAGE.removeprefix("/kebijakan"), response_class=HTMLResponse)
async def simulate_page(
    c: ContainerDep,
    me: PrincipalDep,
    start: Annotated[date, Form()],
    end: Annotated[date, Form()],
    pack: Annotated[str, Form(max_length=512 * 1024)] = "",
    upload: UploadFile | None = None,
) -> HTMLResponse:
    require_any(me, Role.ADMIN, Role.INSPECTOR)
    if upload is not None and upload.filename:
        pack = (await upload.read(512 * 1024 + 1)).decode("utf-8", errors="replace")
    context: dict[str, Any] = {"me": me, "start": start, "end": end, "pack": pack, "report": None, "diff": None}
    try:
        report = await run_simulation(c, me, pack, start, end)
        context["diff"] = await diff_against_in_force(c, pack)
    except Problem as problem:
        if problem.status >= 500:
            raise
        line = problem.extra.get("line")
        return _page(error=problem.detail, error_line=line, **context)
    context["report"] = report
    changed = [item for item in report["items"] if item["changed"]]
    return _page(error=None, changed=changed, chart=chart(report["by_day"]), **context)


@router.get("/static/whatif.css", include_in_schema=False)
async def stylesheet() -> Response:
    css = resources.files("services.whatif").joinpath("static/whatif.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})
