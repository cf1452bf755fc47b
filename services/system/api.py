"""Dev sign-in, liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.api import DevTokenIn, TokenOut
from services.kernel.deps import ContainerDep
from services.kernel.problems import Problem

router = APIRouter(tags=["system"])


@router.post("/api/dev/token", response_model=TokenOut)
async def dev_token(body: DevTokenIn, c: ContainerDep) -> TokenOut:
    if not c.settings.dev_auth:
        raise Problem(404, "dev_auth_disabled", "Masuk pengembang tidak diaktifkan di lingkungan ini.")
    person = await c.reads.person(body.nip)
    if person is None:
        raise Problem(404, "unknown_nip", "NIP tidak ada di direktori.")
    token, expires = c.tokens.issue(person.nip)
    return TokenOut(
        access_token=token,
        token=token,
        expires_at=expires,
        nip=person.nip,
        name=person.name,
        roles=sorted(r.value for r in person.roles),
    )


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


READINESS = {
    "type": "object",
    "required": ["ready", "checks"],
    "properties": {
        "ready": {"type": "boolean"},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@router.get(
    "/readyz",
    responses={
        200: {"description": "store, Temporal and NATS answer", "content": {"application/json": {"schema": READINESS}}},
        503: {"description": "a dependency does not answer", "content": {"application/json": {"schema": READINESS}}},
    },
)
async def readyz(c: ContainerDep) -> JSONResponse:
    checks: dict[str, str] = {}

    async def check(name: str, probe: object) -> None:
        try:
            await asyncio.wait_for(probe, 3.0)  # type: ignore[arg-type]
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"

    await asyncio.gather(
        check("store", c.pool.fetchval("SELECT 1")),
        check("temporal", c.temporal.service_client.check_health()),
        check("nats", c.extras["nats_ping"]()) if "nats_ping" in c.extras else asyncio.sleep(0),
    )
    if "nats_ping" not in c.extras:
        checks["nats"] = "not configured"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
