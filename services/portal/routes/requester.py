"""The requester's pages: the form (with a dry-run of the route), my requests, a request's timeline,
cancel and resubmit. They call the same command handlers as the API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.api import MAX_ATTACHMENTS, CancelIn
from contracts.events import request_stream
from services.documents.api import issued_documents
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.deps import ContainerDep
from services.kernel.judge import judge
from services.kernel.problems import Problem
from services.portal.forms import COUNTRIES, PURPOSES, RequestForm, parse_request_form, preview_body
from services.portal.leave_view import leave_record_for
from services.portal.options import FormOptions, form_options
from services.portal.timeline import people_in, timeline
from services.portal.web import PageProblem, Viewer, ViewerDep, checked_form, redirect, render
from services.requests import commands
from services.requests.views import can_view, request_out

router = APIRouter()
OPEN_STATUSES = ("PENDING", "RETURNED")


def _refusal(problem: Problem) -> dict[str, Any]:
    return {"code": problem.code, "detail": problem.detail, "citations": problem.extra.get("citations", [])}


def _windows(options: FormOptions) -> list[dict[str, Any]]:
    """One date picker per distinct window, tagged with the kinds that use it (a small script shows the right one)."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for opt in options.kinds:
        key = tuple(opt.windows)
        group = groups.setdefault(key, {"windows": opt.windows, "kinds": [], "pick": opt.windows[0].pick})
        group["kinds"].append(opt.kind.value)
    for i, group in enumerate(groups.values()):
        group["id"] = f"tanggal-{i}"
    return list(groups.values())


async def _form_page(
    request: Request,
    me: Viewer,
    options: FormOptions,
    form: RequestForm,
    *,
    refusal: dict[str, Any] | None = None,
    resubmit: Any = None,
    status: int = 200,
) -> Response:
    return await render(
        request,
        "request_form.html",
        {
            "options": options,
            "form": form,
            "errors": form.errors,
            "refusal": refusal,
            "windows": _windows(options),
            "location_kinds": [o.kind.value for o in options.kinds if o.needs_location],
            "purpose_kinds": [o.kind.value for o in options.kinds if o.needs_purpose],
            "purposes": PURPOSES,
            "countries": COUNTRIES,
            "idem": uuid.uuid4().hex,
            "resubmit": resubmit,
        },
        viewer=me,
        status=status,
    )


@router.get("/pengajuan")
async def new_request(
    request: Request, c: ContainerDep, me: ViewerDep, jenis: Annotated[str | None, Query(max_length=30)] = None
) -> Response:
    options = await form_options(c, me.person)
    if not options.kinds:  # e.g. the head of the region, whom no rule of the pack lets ask for leave here
        raise PageProblem(
            403, "Tidak ada jenis pengajuan yang dapat Anda ajukan di portal ini.", code="no_request_kinds"
        )
    kind = jenis if jenis and options.option(jenis) else options.kinds[0].kind.value
    return await _form_page(request, me, options, RequestForm(kind=kind))


@router.post("/pengajuan/pratinjau")
async def preview(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    """Dry-run: what the evaluator would answer for the form as it stands. Nothing is stored."""
    form_data = await checked_form(request)
    options = await form_options(c, me.person)
    fixed = form_data.get("jenis_tetap")
    form = parse_request_form(form_data, options, fixed_kind=fixed if isinstance(fixed, str) and fixed else None)
    body = preview_body(form, options)
    # the preview shows the route; files are not uploaded while typing, and a missing document is refused,
    # with its article, when the form is sent
    evaluation = await judge(c, me.person, body, attachments=MAX_ATTACHMENTS) if body is not None else None
    return await render(
        request,
        "_preview.html",
        {"form": form, "errors": form.mistakes, "evaluation": evaluation, "field_names": FIELD_NAMES},
        viewer=me,
    )


FIELD_NAMES = (
    "jenis",
    "tanggal",
    "mulai",
    "sampai",
    "lokasi",
    "negara",
    "alasan",
    "rencana_kerja",
    "alamat_cuti",
    "telepon_cuti",
    "lampiran",
)


@router.post("/pengajuan")
async def submit(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    form_data = await checked_form(request)
    options = await form_options(c, me.person)
    form = parse_request_form(form_data, options)
    if not form.ok or form.body is None:
        return await _form_page(request, me, options, form, status=422)
    key = str(form_data.get("idem") or "") or None
    try:
        view = await commands.submit_request(c, me.principal, form.body, key)
    except Problem as problem:
        if problem.status == 422:
            return await _form_page(request, me, options, form, refusal=_refusal(problem), status=422)
        raise PageProblem.of(problem) from problem
    return redirect(f"/pengajuan/{view.id}?baru=1")


@router.get("/pengajuan/saya")
async def my_requests(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    rows = await c.reads.requests_of(me.nip)
    return await render(request, "my_requests.html", {"rows": rows}, viewer=me)


async def _visible(c: Container, me: Principal, request_id: UUID) -> Any:
    row = await c.reads.request(request_id)
    if row is None:
        raise PageProblem(404, "Pengajuan tidak ditemukan.")
    if not await can_view(c, me, row):
        raise PageProblem(403, "Anda tidak berhak melihat pengajuan ini.")
    return row


@router.get("/pengajuan/{request_id}")
async def request_page(
    request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep, baru: int | None = None
) -> Response:
    row = await _visible(c, me.principal, request_id)
    view = await request_out(c, row, me.principal)
    events = await c.store.read_stream(request_stream(request_id))
    names = await c.reads.names(people_in(events))
    mine = row["requester_nip"] == me.nip
    duties = await c.pool.fetch("SELECT * FROM rm_duties WHERE request_id = $1 ORDER BY closes_at", request_id)
    return await render(
        request,
        "request_detail.html",
        {
            "view": view,
            "documents": await issued_documents(c, request_id),
            "leave_record": await leave_record_for(c, row["requester_nip"], row["kind"], list(row["dates"])),
            "duties": duties,
            "can_report": mine and view.status == "APPROVED" and bool(duties),
            "has_checkins": any(d["kind"] == "checkin" for d in duties),
            "has_performance": any(d["kind"] == "performance_report" for d in duties),
            "timeline": timeline(events, names),
            "mine": mine,
            "can_cancel": mine and view.status in OPEN_STATUSES,
            "can_resubmit": mine and view.status == "RETURNED",
            "is_new": bool(baru),
            "returned_comment": next(
                (d.comment for d in reversed(view.decisions) if d.decision.value == "return"), None
            ),
        },
        viewer=me,
    )


@router.post("/pengajuan/{request_id}/batal")
async def cancel(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    form = await checked_form(request)
    reason = str(form.get("alasan_batal") or "").strip() or None
    try:
        await commands.cancel_request(c, me.principal, request_id, CancelIn(reason=reason))
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    return redirect(f"/pengajuan/{request_id}")


def _prefill(view: Any) -> RequestForm:
    days = [d.isoformat() for d in view.dates]
    location = view.location or {}
    return RequestForm(
        kind=view.kind.value,
        days=days,
        start=days[0] if days else "",
        end=days[-1] if days else "",
        location=location.get("text") or "",
        country=location.get("country") or "ID",
        reason=view.reason or "",
        work_plan=view.work_plan or "",
        leave_address=(view.leave or {}).get("address") or "",
        leave_phone=(view.leave or {}).get("phone") or "",
        remote_place=bool((view.leave or {}).get("extra_days")),
        extra_days=str((view.leave or {}).get("extra_days") or ""),
    )


@router.get("/pengajuan/{request_id}/ajukan-ulang")
async def resubmit_page(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    row = await _visible(c, me.principal, request_id)
    view = await request_out(c, row, me.principal)
    if row["requester_nip"] != me.nip or view.status != "RETURNED":
        raise PageProblem(409, "Hanya pengajuan Anda yang dikembalikan yang dapat diajukan ulang.")
    options = await form_options(c, me.person)
    return await _form_page(request, me, options, _prefill(view), resubmit=view)


@router.post("/pengajuan/{request_id}/ajukan-ulang")
async def resubmit(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    form_data = await checked_form(request)
    row = await _visible(c, me.principal, request_id)
    view = await request_out(c, row, me.principal)
    options = await form_options(c, me.person)
    form = parse_request_form(form_data, options, fixed_kind=row["kind"])
    if not form.ok or form.body is None:
        return await _form_page(request, me, options, form, resubmit=view, status=422)
    try:
        await commands.resubmit_request(c, me.principal, request_id, form.body)
    except Problem as problem:
        if problem.status == 422:
            return await _form_page(request, me, options, form, refusal=_refusal(problem), resubmit=view, status=422)
        raise PageProblem.of(problem) from problem
    return redirect(f"/pengajuan/{request_id}")
