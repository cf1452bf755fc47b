"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.common import Role
from services.approvals import commands as approvals
from services.kernel.container import Container
from services.kernel.deps import ContainerDep
from services.kernel.problems import Problem
from services.portal import labels
from services.portal.identity import OidcIdentityProvider, identity_provider, unconfigured
from services.portal.queries import everyone
from services.portal.session import attach_presession, end_session, ensure_presession, start_session
from services.portal.web import (
    LoginRequired,
    PageProblem,
    Viewer,
    ViewerDep,
    checked_form,
    current_viewer,
    page_problem_response,
    redirect,
    render,
    safe_next,
)

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


def _refused(problem: Problem) -> PageProblem:
    return PageProblem(problem.status, problem.detail, code=problem.code, title="Tidak dapat masuk")


@router.get("/masuk")
async def sign_in_page(
    request: Request,
    c: ContainerDep,
    lanjut: Annotated[str | None, Query(max_length=500)] = None,
    keluar: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    provider = identity_provider(c.settings)
    viewer = await _signed_in(request)
    people = await _demo_people(c) if provider.picks_nip else []
    # After signing out here, offer to end the SSO session too (a link: the form's CSP allows no redirect off-site)
    sso_logout = (
        await provider.client.end_session_url(request)
        if keluar and viewer is None and isinstance(provider, OidcIdentityProvider)
        else None
    )
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
            "signed_out": bool(keluar) and viewer is None,
            "sso_logout": sso_logout,
        },
        viewer=viewer,
    )
    attach_presession(request, page)
    return page


@router.post("/masuk")
async def sign_in(request: Request, c: ContainerDep) -> Response:
    form = await checked_form(request)
    provider = identity_provider(c.settings)
    if isinstance(provider, OidcIdentityProvider):
        # sign-in happens at the provider; a posted NIP is never a credential
        raise PageProblem(
            400, "Gunakan tombol masuk dengan akun SSO pemda.", code="oidc_form_refused", title="Tidak dapat masuk"
        )
    try:
        signed_in = await provider.finish(request, {k: str(v) for k, v in form.items()})
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    person = await c.reads.person(signed_in.nip)
    if person is None:
        raise PageProblem(401, "NIP tidak ada di direktori.", code="unknown_nip", title="Tidak dapat masuk")
    response = redirect(safe_next(str(form.get("lanjut") or "/")))
    start_session(c, request, response, person.nip)
    return response


@router.get("/masuk/oidc")
async def sign_in_oidc(
    request: Request, c: ContainerDep, lanjut: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """Off to the identity provider, with state, nonce and PKCE verifier kept in a short-lived signed cookie."""
    provider = identity_provider(c.settings)
    if not isinstance(provider, OidcIdentityProvider):
        raise _refused(unconfigured())
    try:
        target, flow = await provider.client.begin(request, safe_next(lanjut))
    except Problem as problem:
        raise _refused(problem) from problem
    response = redirect(target)
    provider.client.set_flow_cookie(request, response, flow)
    return response


@router.get("/masuk/oidc/callback")
async def sign_in_oidc_callback(request: Request, c: ContainerDep) -> Response:
    provider = identity_provider(c.settings)
    if not isinstance(provider, OidcIdentityProvider):
        raise _refused(unconfigured())
    params = {k: v[:2048] for k, v in request.query_params.items()}
    response: Response
    try:
        signed_in = await provider.finish(request, params)
        person = await c.reads.person(signed_in.nip)
        if person is None:
            raise PageProblem(401, "NIP tidak ada di direktori.", code="unknown_nip", title="Tidak dapat masuk")
        response = redirect(safe_next(signed_in.next_path))
        start_session(c, request, response, person.nip)
    except Problem as problem:
        response = await page_problem_response(request, _refused(problem))
    except PageProblem as problem:
        response = await page_problem_response(request, problem)
    provider.client.clear_flow_cookie(request, response)  # one flow, one callback
    return response


@router.post("/keluar")
async def sign_out(request: Request, c: ContainerDep) -> Response:
    await checked_form(request)
    oidc = isinstance(identity_provider(c.settings), OidcIdentityProvider)
    response = redirect("/masuk?keluar=1" if oidc else "/masuk")
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
