"""The inspector's pages: search requests, read a request's events with their hashes, verify the whole log,
and the export link."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.events import EventEnvelope, request_stream
from services.audit.api import request_events, verify_for
from services.kernel.deps import ContainerDep
from services.kernel.problems import Problem
from services.portal.queries import opds, search_requests
from services.portal.timeline import people_in, timeline
from services.portal.web import PageProblem, Viewer, ViewerDep, checked_form, is_htmx, render

router = APIRouter()


def _require_inspector(me: Viewer) -> None:
    if not me.is_inspector:
        raise PageProblem(403, "Halaman ini hanya untuk inspektorat dan admin kepegawaian.")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/audit")
async def audit_search(
    request: Request,
    c: ContainerDep,
    me: ViewerDep,
    nip: Annotated[str | None, Query(max_length=18)] = None,
    opd: Annotated[str | None, Query(max_length=60)] = None,
    dari: Annotated[str | None, Query(max_length=10)] = None,
    sampai: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    _require_inspector(me)
    zone = ZoneInfo(me.zone)
    since, until = _day(dari), _day(sampai)
    errors = {}
    if nip and not (nip.isdigit() and len(nip) == 18):
        errors["nip"] = "NIP harus 18 digit angka."
    if dari and since is None:
        errors["dari"] = "Tanggal tidak valid."
    if sampai and until is None:
        errors["sampai"] = "Tanggal tidak valid."
    if since and until and until < since:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    rows = []
    if not errors:
        rows = await search_requests(
            c.pool,
            me.person.region,
            nip=nip or None,
            opd_code=opd or None,
            since=datetime.combine(since, time(), zone) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        )
    export_from = since or c.clock.now().astimezone(zone).date().replace(day=1)
    export_to = until or c.clock.now().astimezone(zone).date()
    return await render(
        request,
        "audit_search.html",
        {
            "rows": rows,
            "opds": await opds(c.pool, me.person.region),
            "filters": {"nip": nip or "", "opd": opd or "", "dari": dari or "", "sampai": sampai or ""},
            "errors": errors,
            "searched": any((nip, opd, dari, sampai)),
            "export_from": export_from.isoformat(),
            "export_to": export_to.isoformat(),
        },
        viewer=me,
        status=422 if errors else 200,
    )


@router.get("/audit/pengajuan/{request_id}")
async def audit_request(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    _require_inspector(me)
    try:
        events = await request_events(request_id, c, me.principal)
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    row = await c.reads.request(request_id)
    envelopes = [EventEnvelope(**e.model_dump()) for e in events]
    names = await c.reads.names(people_in(envelopes))
    return await render(
        request,
        "audit_request.html",
        {
            "stream_id": request_stream(request_id),
            "event_count": len(events),
            "row": row,
            "timeline": timeline(envelopes, names),
        },
        viewer=me,
    )


@router.post("/audit/verifikasi")
async def verify(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    await checked_form(request)
    _require_inspector(me)
    try:
        report = (await verify_for(c, me.principal)).as_dict()
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    template = "_verify.html" if is_htmx(request) else "verify_page.html"
    return await render(request, template, {"report": report, "checked_at": c.clock.now()}, viewer=me)
