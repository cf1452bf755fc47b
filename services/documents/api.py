"""Letters over HTTP: the list for a request, the PDF itself, and the public verification page."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import BaseModel

from services.documents.leave_form import FORM_KIND
from services.documents.letters import LEAVE_NAMES, TRAVEL_ABROAD, WFA_ABROAD
from services.kernel.bahasa import local_datetime, long_date
from services.kernel.container import Container
from services.kernel.deps import ContainerDep, PrincipalDep
from services.kernel.problems import Problem
from services.kernel.regions import region_display
from services.requests.views import can_view

router = APIRouter(tags=["documents"])
public = APIRouter(tags=["verification"])
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1c2430}"
    "h1{font-size:1.4rem}.verdict{padding:1rem 1.2rem;border-radius:.5rem;margin:1rem 0;font-weight:600}"
    ".genuine{background:#e3f5e8;border:1px solid #2e7d4f}.revoked,.not_genuine{background:#fdeaea;"
    "border:1px solid #b3261e}.unknown{background:#f1f1f1;border:1px solid #777}"
    "dl{display:grid;grid-template-columns:12rem 1fr;gap:.4rem 1rem}dt{color:#555}dd{margin:0;word-break:break-all}"
    "form{margin-top:1.5rem;padding:1rem;border:1px dashed #999;border-radius:.5rem}small{color:#555}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(PAGE_STYLE.encode()).digest()).decode()
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class DocumentOut(BaseModel):
    id: str
    kind: str
    number: str
    sha256: str
    url: str
    verify_url: str
    status: Literal["issued", "revoked"]
    issued_on: date
    issued_at: datetime | None
    audit_position: int


def kind_label(kind: str) -> str:
    if kind == FORM_KIND:
        return "Formulir Permintaan dan Pemberian Cuti"
    if kind == WFA_ABROAD:
        return "Surat Izin Pelaksanaan Tugas Kedinasan secara Fleksibel di Luar Negeri"
    if kind == TRAVEL_ABROAD:
        return "Surat Izin ke Luar Negeri"
    request_kind = kind.removeprefix("surat_izin_").upper()
    return "Surat Izin " + LEAVE_NAMES.get(request_kind, request_kind).title()


def base_url(c: Container) -> str:
    return c.settings.public_base_url or f"http://{c.settings.http_host}:{c.settings.http_port}"


async def _viewable_request(c: Container, me: PrincipalDep, request_id: UUID) -> asyncpg.Record:
    row = await c.reads.request(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if not await can_view(c, me, row):
        raise Problem(403, "forbidden", "Anda tidak berhak melihat surat untuk pengajuan ini.")
    return row


@router.get("/api/requests/{request_id}/documents", response_model=list[DocumentOut])
async def request_documents(request_id: UUID, c: ContainerDep, me: PrincipalDep) -> list[DocumentOut]:
    await _viewable_request(c, me, request_id)
    return await issued_documents(c, request_id)


async def issued_documents(c: Container, request_id: UUID) -> list[DocumentOut]:
    """The letters and forms issued for a request, in audit order (the caller has checked the viewer)."""
    rows = await c.pool.fetch(
        "SELECT * FROM documents WHERE request_id = $1 AND issued_position IS NOT NULL ORDER BY issued_position",
        request_id,
    )
    return [
        DocumentOut(
            id=r["doc_id"],
            kind=r["kind"],
            number=r["number"],
            sha256=r["sha256"],
            url=f"/api/documents/{r['doc_id']}",
            verify_url=f"{base_url(c).rstrip('/')}/verifikasi/{r['doc_id']}",
            status="revoked" if r["revoked_position"] else "issued",
            issued_on=r["issued_on"],
            issued_at=r["issued_at"],
            audit_position=r["issued_position"],
        )
        for r in rows
    ]


@router.get("/api/documents/{doc_id}", response_class=Response)
async def document_pdf(doc_id: str, c: ContainerDep, me: PrincipalDep) -> Response:
    row = await c.pool.fetchrow(
        "SELECT doc_id, request_id, kind, number, pdf, pdf_sealed FROM documents "
        "WHERE doc_id = $1 AND issued_position IS NOT NULL",
        doc_id[:64],
    )
    if row is None:
        raise Problem(404, "document_not_found", "Surat tidak ditemukan.")
    await _viewable_request(c, me, row["request_id"])
    pdf = bytes(row["pdf"])
    if row["pdf_sealed"] is not None:
        opened = await c.vault.unseal(row["pdf_sealed"])
        if opened is None:
            raise Problem(
                410,
                "document_erased",
                "Formulir ini memuat data pribadi yang telah dihapus sesuai masa retensi; nomor dan sidik "
                "SHA-256-nya tetap tercatat dan dapat diperiksa di halaman verifikasi.",
            )
        pdf = base64.b64decode(opened["pdf"])
    prefix = "formulir-cuti-" if row["kind"] == FORM_KIND else "surat-"
    filename = prefix + "".join(ch if ch.isalnum() else "-" for ch in row["number"]) + ".pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


# -- public verification ---------------------------------------------------------------------------------


def mask_nip(nip: str) -> str:
    """Enough to match the letter in hand, not enough to learn a birth date."""
    return "*" * max(0, len(nip) - 4) + nip[-4:]


async def _limited(request: Request, c: Container) -> bool:
    limiter = c.extras.get("verify_limiter")
    if limiter is None:
        limiter = c.extras["verify_limiter"] = (
            MovingWindowRateLimiter(MemoryStorage()),
            parse(c.settings.verify_rate_limit),
        )
    strategy, item = limiter
    client = request.client.host if request.client else "unknown"
    return not await strategy.hit(item, "verifikasi", client)


async def _record(c: Container, doc_id: str) -> dict[str, Any] | None:
    """The letter as the audit log records it (the event, not the table beside it), or None."""
    row = await c.pool.fetchrow(
        "SELECT d.doc_id, d.kind, d.issued_on, d.holder_name, d.holder_nip, d.region, d.revoked_at, d.revoke_reason, "
        "e.position, e.payload, e.recorded_at FROM documents d JOIN events e ON e.event_id = d.issued_event_id "
        "WHERE d.doc_id = $1",
        doc_id[:64],
    )
    if row is None:
        return None
    p = row["payload"]
    zone = region_display(row["region"]).timezone
    return {
        "id": row["doc_id"],
        "status": "revoked" if row["revoked_at"] else "genuine",
        "kind": p["kind"],
        "kind_label": kind_label(p["kind"]),
        "number": p["number"],
        "issued_on": row["issued_on"].isoformat(),
        "issued_on_text": long_date(row["issued_on"]),
        "holder": {"name": row["holder_name"], "nip": mask_nip(row["holder_nip"])},
        "signer": {"name": p["signer_name"], "title": p["signer_title"], "nip": mask_nip(p["signer_nip"])},
        "sha256": p["sha256"],
        "audit_position": row["position"],
        "recorded_at": local_datetime(row["recorded_at"], zone),
        "revoked_at": local_datetime(row["revoked_at"], zone) if row["revoked_at"] else None,
        "revoke_reason": row["revoke_reason"],
    }


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(request: Request, status: int, context: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse(context, status_code=status, headers=headers)
    html = _templates.get_template("verifikasi.html").render(style=PAGE_STYLE, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP, **(headers or {})})


def _too_many(request: Request) -> Response:
    return _page(request, 429, {"status": "rate_limited"}, {"Retry-After": "60"})


@public.get("/verifikasi/{doc_id}", response_class=HTMLResponse)
async def verification_page(doc_id: str, request: Request, c: ContainerDep) -> Response:
    if await _limited(request, c):
        return _too_many(request)
    record = await _record(c, doc_id)
    if record is None:
        # Every unknown id gets the same answer, well-formed or not: nothing to learn by probing.
        return _page(request, 404, {"status": "unknown"})
    return _page(request, 200, {"status": record["status"], "document": record})


@public.post("/verifikasi/{doc_id}", response_class=HTMLResponse)
async def verify_upload(
    doc_id: str, request: Request, c: ContainerDep, berkas: Annotated[UploadFile, File()]
) -> Response:
    if await _limited(request, c):
        return _too_many(request)
    data = await berkas.read(1024 * 1024 + 1)
    record = await _record(c, doc_id)
    if record is None:
        return _page(request, 404, {"status": "unknown"})
    digest = hashlib.sha256(data).hexdigest()
    match = digest == record["sha256"]
    verdict = ("revoked" if record["status"] == "revoked" else "genuine") if match else "not_genuine"
    upload = {"sha256": digest, "match": match, "verdict": verdict, "filename": (berkas.filename or "")[:120]}
    return _page(request, 200, {"status": record["status"], "document": record, "upload": upload})
