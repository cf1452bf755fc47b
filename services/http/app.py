"""The FastAPI application: routers, problem+json errors, correlation ids, limits and headers."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.telemetry import tag_current_span
from services.admin.api import router as admin_router
from services.approvals.api import router as approvals_router
from services.audit.api import router as audit_router
from services.compliance.api import router as compliance_router
from services.documents.api import public as verification_router
from services.documents.api import router as documents_router
from services.http.limits import EdgeLimits, TokenBuckets
from services.kernel.container import Container
from services.kernel.deps import SESSION_COOKIE
from services.kernel.problems import PROBLEM_JSON, install_problem_handlers
from services.leave_record.api import router as leave_record_router
from services.notifications.api import router as notifications_router
from services.packs.api import router as packs_router
from services.portal import install_portal
from services.requests.api import router as requests_router
from services.requests.leave_api import router as leave_router
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
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


class CorrelateAndSecure:
    """ASGI middleware around every request: the correlation id in the log context and the answer, the
    security and cache headers, and the request metrics.

    Plain ASGI rather than `@app.middleware("http")`: that wrapper runs each request through an anyio task
    group and memory streams, which cost more than the endpoints of the decision path themselves.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = (headers.get("x-correlation-id") or uuid.uuid4().hex)[:64]
        path: str = scope["path"]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id, path=path)
        tag_current_span(correlation_id=correlation_id)
        https = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["X-Correlation-ID"] = correlation_id
                for name, value in SECURITY_HEADERS.items():
                    out.setdefault(name, value)
                if not path.startswith("/static/"):
                    # Pages and API answers carry personal data: never keep them in shared or browser caches.
                    out.setdefault("Cache-Control", "no-store")
                if https:
                    out.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="Lentur",
        version="0.2.0",
        description="Pengajuan kerja fleksibel (WFH/WFA) dan cuti ASN, dengan jejak audit yang dapat diverifikasi.",
    )
    app.state.container = container
    install_problem_handlers(app)
    # Starlette puts the middleware added last outermost: CorrelateAndSecure (below) wraps these limits, so
    # their 413/429 answers still carry the correlation id and the security headers.
    settings = container.settings
    app.add_middleware(
        EdgeLimits,
        max_json_body=settings.max_json_body_bytes,
        max_upload_body=settings.max_upload_body_bytes,
        buckets=TokenBuckets(settings.write_rate_per_minute, settings.write_burst),
        secrets=lambda: container.tokens.secrets,
        session_cookie=SESSION_COOKIE,
    )

    app.add_middleware(CorrelateAndSecure)

    for router in (
        system_router,
        requests_router,
        leave_router,
        approvals_router,
        audit_router,
        admin_router,
        packs_router,
        compliance_router,
        whatif_router,
        whatif_pages,
        leave_record_router,
    ):
        app.include_router(router)
    for router in (notifications_router, documents_router, verification_router):
        app.include_router(router)
    install_portal(app)
    document_problems(app)
    return app


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details with a machine-readable code.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEM_STATUSES = {
    "400": "Permintaan tidak valid",
    "401": "Perlu masuk (token tidak ada, tidak sah atau kedaluwarsa)",
    "403": "Tidak diizinkan",
    "404": "Tidak ditemukan",
    "409": "Konflik dengan keadaan sekarang",
    "413": "Badan permintaan terlalu besar",
    "415": "Jenis konten tidak didukung",
    "422": "Isian tidak valid atau ditolak kebijakan",
    "429": "Terlalu banyak perubahan; lihat Retry-After",
    "503": "Layanan belum siap",
    "504": "Perubahan tersimpan, tampilan belum diperbarui",
}


def document_problems(app: FastAPI) -> None:
    """Every API operation documents its problem+json answers, so clients (and fuzzers) can rely on them."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                # Public pages (e.g. /verifikasi) answer browsers in HTML, their errors included.
                html = "text/html" in responses.get("200", {}).get("content", {})
                for status, description in PROBLEM_STATUSES.items():
                    content: dict[str, Any] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    if html:
                        content["text/html"] = {"schema": {"type": "string"}}
                    responses[status] = {"description": description, "content": content}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
