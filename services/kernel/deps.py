"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.common import Role
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /api/dev/token (dev) or the identity provider")
SESSION_COOKIE = "lentur_session"


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    # async, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread, a thread
    # hand-off on every request for one attribute read.
    return container_of(request)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_principal(
    request: Request,
    c: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Problem(401, "unauthenticated", "Sertakan token Bearer.")
    nip = c.tokens.subject(token)
    person = await c.reads.person(nip)
    if person is None:
        raise Problem(401, "unknown_subject", "Pemilik token tidak ada di direktori.")
    structlog.contextvars.bind_contextvars(actor=nip)
    return Principal(person)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_any(principal: Principal, *roles: Role) -> None:
    if not any(principal.has(r) for r in roles):
        wanted = ", ".join(r.value for r in roles)
        raise Problem(403, "forbidden", f"Memerlukan peran: {wanted}.")
