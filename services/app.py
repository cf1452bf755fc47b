"""The FastAPI application: routers, problem+json errors, correlation ids, limits and headers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram

from services.admin.api import router as admin_router
from services.approvals.api import router as approvals_router
from services.audit.api import router as audit_router
from services.compliance.api import router as compliance_router
from services.container import Container
from services.documents.api import public as verification_router
from services.documents.api import router as documents_router
from services.notifications.api import router as notifications_router
from services.packs.api import router as packs_router
from services.portal import install_portal
from services.problems import Problem, install_problem_handlers, problem_response
from services.requests.api import router as requests_router
from services.system.api import router as system_router
from services.whatif.api import router as whatif_router
from services.whatif.pages import router as whatif_pages

HTTP_REQUESTS = Counter("lentur_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "lentur_http_request_seconds",
    "HTTP latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MAX_JSON_BODY = 256 * 1024
MAX_CSV_BODY = 20 * 1024 * 1024
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="Lentur",
        version="0.1.0",
        description="Pengajuan kerja fleksibel (WFH/WFA) dan cuti ASN, dengan jejak audit yang dapat diverifikasi.",
    )
    app.state.container = container
    install_problem_handlers(app)

    @app.middleware("http")
    async def correlate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id[:64], path=request.url.path)
        limit = MAX_CSV_BODY if request.url.path == "/api/admin/directory" else MAX_JSON_BODY
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return problem_response(Problem(413, "too_large", "Badan permintaan terlalu besar."), request.url.path)
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, template).observe(time.perf_counter() - started)
        response.headers["X-Correlation-ID"] = correlation_id[:64]
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    for router in (
        system_router,
        requests_router,
        approvals_router,
        audit_router,
        admin_router,
        packs_router,
        compliance_router,
        whatif_router,
        whatif_pages,
    ):
        app.include_router(router)
    for router in (notifications_router, documents_router, verification_router):
        app.include_router(router)
    install_portal(app)
    return app
