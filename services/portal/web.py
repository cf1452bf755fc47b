"""Rendering and the signed-in viewer: the small amount of glue every page shares."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from contracts.bahasa import MONTH_NAMES, country_name, day_and_date
from contracts.common import Role
from contracts.zones import zone_label
from services.documents.api import kind_label as document_kind_label
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.deps import container_of
from services.kernel.problems import Problem
from services.portal import labels
from services.portal.options import region_zone
from services.portal.session import CSRF_FIELD, CSRF_HEADER, csrf_token, csrf_valid, session_token

HERE = Path(__file__).resolve().parent
HEAD_ROLES = (Role.UNIT_HEAD, Role.OPD_HEAD, Role.PPK)


class LoginRequired(Exception):
    def __init__(self, next_path: str, clear_cookie: bool = False) -> None:
        self.next_path = next_path
        self.clear_cookie = clear_cookie


class PageProblem(Exception):
    """An error shown as a page (never as JSON) to a person using the portal."""

    def __init__(self, status: int, message: str, *, code: str = "", title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.title = title or {403: "Tidak diizinkan", 404: "Tidak ditemukan"}.get(status, "Tidak dapat diproses")

    @classmethod
    def of(cls, problem: Problem) -> PageProblem:
        return cls(problem.status, problem.detail, code=problem.code)


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    zone: str

    @property
    def person(self) -> Any:
        return self.principal.person

    @property
    def nip(self) -> str:
        return self.principal.nip

    @property
    def is_approver(self) -> bool:
        return any(self.principal.has(r) for r in HEAD_ROLES) or self.person.acting_for is not None

    @property
    def is_inspector(self) -> bool:
        return self.principal.is_inspector or self.principal.is_admin

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


def _local(value: datetime | None, zone: str, *, seconds: bool = False) -> str:
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(zone))
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.day} {MONTH_NAMES[local.month - 1][:3]} {local.year}, {clock} {zone_label(zone)}"


def _long_date(value: date | str) -> str:
    return day_and_date(date.fromisoformat(value) if isinstance(value, str) else value)


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    env = t.env
    env.filters["local"] = _local
    env.filters["long_date"] = _long_date
    env.filters["short_date"] = labels.short_date
    env.filters["local_precise"] = lambda v, zone: _local(v, zone, seconds=True)
    env.filters["kind"] = labels.kind_label
    env.filters["document_kind"] = document_kind_label
    env.filters["duty"] = lambda s: labels.DUTY_LABELS.get(str(s), str(s))
    env.filters["status"] = lambda s: labels.STATUS_LABELS.get(s, s)
    env.filters["tier"] = lambda s: labels.TIER_LABELS.get(str(s), str(s))
    env.filters["action"] = lambda s: labels.ACTION_LABELS.get(s, s)
    env.filters["decision"] = lambda s: labels.DECISION_LABELS.get(str(s), str(s))
    env.filters["event"] = lambda s: labels.EVENT_LABELS.get(s, s)
    env.filters["region"] = labels.region_label
    env.filters["country"] = country_name
    env.filters["employee_type"] = lambda s: labels.EMPLOYEE_TYPE_LABELS.get(s, s)
    env.filters["opd_class"] = lambda s: labels.OPD_CLASS_LABELS.get(s, s)
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    env.globals["ROLE_LABELS"] = labels.ROLE_LABELS
    env.globals["new_key"] = lambda: uuid.uuid4().hex  # idempotency key per rendered form: a double click is one act
    return t


async def _unread(c: Container, nip: str) -> int:
    return int(
        await c.pool.fetchval("SELECT count(*) FROM notifications WHERE recipient_nip = $1 AND read_at IS NULL", nip)
        or 0
    )


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    zone: str | None = None,
) -> HTMLResponse:
    c: Container = request.app.state.container
    now = c.clock.now()
    zone = zone or (viewer.zone if viewer else "Asia/Makassar")
    base: dict[str, Any] = {
        "request": request,
        "me": viewer,
        "csrf": csrf_token(c, request),
        "csrf_field": CSRF_FIELD,
        "zone": zone,
        "zone_label": zone_label(zone),
        "now": now,
        "simulated": c.clock.simulated,
        "dev_auth": c.settings.dev_auth,
    }
    if viewer is not None:
        base["unread"] = await _unread(c, viewer.nip)
    base.update(context or {})
    response = templates().TemplateResponse(request, template, base, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _next_path(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


async def current_viewer(request: Request) -> Viewer:
    c: Container = container_of(request)
    token = session_token(request)
    if not token:
        raise LoginRequired(_next_path(request))
    try:
        nip = c.tokens.subject(token)
    except Problem as exc:
        raise LoginRequired(_next_path(request), clear_cookie=True) from exc
    person = await c.reads.person(nip)
    if person is None:
        raise LoginRequired(_next_path(request), clear_cookie=True)
    return Viewer(Principal(person), await region_zone(c, person.region))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def checked_form(request: Request) -> FormData:
    """The submitted form, once its CSRF token proved it came from a page this session was shown."""
    c: Container = container_of(request)
    form = await request.form()
    submitted = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_valid(c, request, submitted if isinstance(submitted, str) else None):
        raise PageProblem(
            403,
            "Formulir ini tidak berasal dari sesi Anda atau sudah kedaluwarsa. Muat ulang halaman lalu coba lagi.",
            code="csrf_failed",
            title="Formulir ditolak",
        )
    return form


def safe_next(value: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def page_problem_response(request: Request, exc: PageProblem) -> Response:
    template = "_problem.html" if is_htmx(request) else "problem.html"
    response = await render(request, template, {"problem": exc}, status=exc.status)
    if is_htmx(request):
        # htmx ignores error statuses by default; the fragment explains the problem in place
        response.status_code = 200
    return response
