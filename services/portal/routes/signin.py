"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.common import Role
from services.approvals import commands as approvals
from services.container import Container
from services.deps import ContainerDep
from services.portal import labels
from services.portal.identity import identity_provider
from services.portal.queries import everyone
from services.portal.session import attach_presession, end_session, ensure_presession, start_session
from services.portal.web import (
    LoginRequired,
    PageProblem,
    Viewer,
    ViewerDep,
    checked_form,
    current_viewer,
    redirect,
    render,
    safe_next,
)
from services.problems import Problem

router = APIRouter()


async def _signed_in(request: Request) -> Viewer | None:
    try:
        return await current_viewer(request)
    except LoginRequired:
        return None


async def _demo_people(c: Container) -> list[tuple[str, list[tuple[str, list[dict[str, str]]]]]]:
    """Region → role group → people, in the order a demo visitor looks for them."""
    grouped: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for row in await everyone(c.pool):
        group = labels.role_group(frozenset(Role(r) for r in row["roles"]))
        acting = " (Plt/Plh)" if row["acting_for"] else ""
        grouped[row["region"]][group].append(
            {
                "nip": row["nip"],
                "label": f"{row['name']}{acting} — {row['unit_name']}, {row['opd_name']} · {row['nip']}",
            }
        )
    ordered = []
    for region in sorted(grouped, key=labels.region_label):
        groups = grouped[region]
        ordered.append(
            (
                labels.region_label(region),
                [(g, groups[g]) for g in labels.ROLE_GROUP_ORDER if g in groups],
            )
        )
    return ordered


@router.get("/masuk")
async def sign_in_page(
    request: Request, c: ContainerDep, lanjut: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    provider = identity_provider(c.settings)
    viewer = await _signed_in(request)
    people = await _demo_people(c) if provider.picks_nip else []
    ensure_presession(request)
    page = await render(
        request,
        "signin.html",
        {
            "provider": provider,
            "people": people,
            "next": safe_next(lanjut),
            "start_url": provider.start_url(request, safe_next(lanjut)),
            "already": viewer,
        },
        viewer=viewer,
    )
    attach_presession(request, page)
    return page


@router.post("/masuk")
async def sign_in(request: Request, c: ContainerDep) -> Response:
    form = await checked_form(request)
    provider = identity_provider(c.settings)
    try:
        nip = await provider.finish(request, {k: str(v) for k, v in form.items()})
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    person = await c.reads.person(nip)
    if person is None:
        raise PageProblem(401, "NIP tidak ada di direktori.", code="unknown_nip", title="Tidak dapat masuk")
    response = redirect(safe_next(str(form.get("lanjut") or "/")))
    start_session(c, request, response, person.nip)
    return response


@router.post("/keluar")
async def sign_out(request: Request) -> Response:
    await checked_form(request)
    response = redirect("/masuk")
    end_session(request, response)
    return response


@router.get("/")
async def home(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    tasks = await approvals.inbox(c, me.principal) if me.is_approver else []
    mine = await c.reads.requests_of(me.nip, limit=5)
    return await render(
        request,
        "home.html",
        {
            "tasks": tasks,
            "overdue": sum(1 for t in tasks if t.overdue),
            "mine": mine,
        },
        viewer=me,
    )
