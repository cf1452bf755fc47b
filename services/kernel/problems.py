"""RFC 9457 problem details with a machine `code` (and the clause, for policy refusals)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Permintaan tidak valid",
    401: "Perlu masuk",
    403: "Tidak diizinkan",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Konflik",
    413: "Permintaan terlalu besar",
    415: "Jenis konten tidak didukung",
    422: "Tidak dapat diproses",
    429: "Terlalu banyak permintaan",
    500: "Kesalahan server",
    503: "Layanan belum siap",
    504: "Waktu habis",
}


class Problem(Exception):
    def __init__(self, status: int, code: str, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or _TITLES.get(status, "Kesalahan")
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://lentur.go.id/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def problem_response(
    problem: Problem, instance: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _jsonable_errors(errors: list[Any]) -> list[dict[str, Any]]:
    clean = []
    for err in errors:
        clean.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return clean


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(list(exc.errors()))
        code = "malformed_json" if any(e["type"] == "json_invalid" for e in errors) else "validation_error"
        detail = "Badan permintaan bukan JSON yang sah." if code == "malformed_json" else "Isian tidak valid."
        return problem_response(Problem(422, code, detail, errors=errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(Problem(exc.status_code, code, str(exc.detail)), request.url.path, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, error=repr(exc), exc_info=exc)
        return problem_response(Problem(500, "internal_error", "Terjadi kesalahan pada server."), request.url.path)
