"""Notifications, duties of approved days (check-in, report, the superior's view) and the admin's delivery log."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.common import Role
from services.compliance import commands as compliance
from services.compliance.models import AcknowledgeIn, CheckInIn, ReportIn
from services.kernel.deps import ContainerDep
from services.kernel.problems import Problem
from services.portal.web import PageProblem, ViewerDep, checked_form, redirect, render

router = APIRouter()


@router.get("/pemberitahuan")
async def notifications(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    rows = await c.pool.fetch(
        "SELECT * FROM notifications WHERE recipient_nip = $1 ORDER BY created_at DESC, position DESC LIMIT 100",
        me.nip,
    )
    return await render(request, "notifications.html", {"items": rows}, viewer=me)


@router.post("/pemberitahuan/baca-semua")
async def read_all(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    await checked_form(request)
    await c.pool.execute(
        "UPDATE notifications SET read_at = $2 WHERE recipient_nip = $1 AND read_at IS NULL", me.nip, c.clock.now()
    )
    return redirect("/pemberitahuan")


@router.get("/kewajiban")
async def duties_page(
    request: Request,
    c: ContainerDep,
    me: ViewerDep,
    tanggal: Annotated[str | None, Query(max_length=10)] = None,
    unit: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    """What a superior monitors: per day, who checked in, who reported, who missed; and misses to follow up."""
    try:
        day = date.fromisoformat(tanggal) if tanggal else c.clock.now().date()
    except ValueError as exc:
        raise PageProblem(422, "Tanggal tidak valid; gunakan format TTTT-BB-HH.") from exc
    try:
        duties = await compliance.day_view(c, me.principal, day, unit or None)
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    names = await c.reads.names({d.nip for d in duties})
    open_tasks = await compliance.open_tasks(c, me.principal)
    task_names = await c.reads.names({d.nip for d in open_tasks})
    return await render(
        request,
        "duties.html",
        {
            "day": day,
            "unit": unit or "",
            "duties": duties,
            "names": names,
            "open_tasks": open_tasks,
            "task_names": task_names,
        },
        viewer=me,
    )


@router.post("/kewajiban/{task_id}/tindak-lanjut")
async def acknowledge(request: Request, task_id: str, c: ContainerDep, me: ViewerDep) -> Response:
    form = await checked_form(request)
    comment = str(form.get("catatan") or "").strip() or None
    try:
        await compliance.acknowledge(c, me.principal, task_id, AcknowledgeIn(comment=comment))
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    return redirect("/kewajiban")


@router.post("/pengajuan/{request_id}/lapor-lokasi")
async def check_in(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    form = await checked_form(request)
    place = str(form.get("lokasi") or "").strip() or None
    try:
        await compliance.check_in(c, me.principal, request_id, CheckInIn(text=place))
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    return redirect(f"/pengajuan/{request_id}?lapor=1")


@router.post("/pengajuan/{request_id}/laporan")
async def report(request: Request, request_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    form = await checked_form(request)
    kind = "performance" if form.get("jenis") == "performance" else "activity"
    text = str(form.get("isi") or "").strip()
    if not text:
        raise PageProblem(422, "Isi laporan wajib diisi.")
    try:
        await compliance.submit_report(c, me.principal, request_id, ReportIn(kind=kind, text=text))
    except Problem as problem:
        raise PageProblem.of(problem) from problem
    return redirect(f"/pengajuan/{request_id}?lapor=1")


@router.get("/admin/pengiriman")
async def deliveries(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    """Failing and retried deliveries in the admin's region, with a way to queue them again."""
    if not me.principal.has(Role.ADMIN):
        raise PageProblem(403, "Halaman ini untuk admin kepegawaian.")
    counts = await c.pool.fetch(
        "SELECT channel, status, count(*) AS n FROM notification_deliveries WHERE region = $1 "
        "GROUP BY channel, status ORDER BY channel, status",
        me.person.region,
    )
    rows = await c.pool.fetch(
        "SELECT d.*, n.title, p.name AS recipient_name FROM notification_deliveries d "
        "JOIN notifications n ON n.id = d.notification_id LEFT JOIN rm_people p ON p.nip = d.recipient_nip "
        "WHERE d.region = $1 AND d.status IN ('retry', 'failed') ORDER BY d.created_at DESC LIMIT 200",
        me.person.region,
    )
    return await render(request, "deliveries.html", {"counts": counts, "rows": rows}, viewer=me)


@router.post("/admin/pengiriman/{delivery_id}/ulang")
async def retry(request: Request, delivery_id: UUID, c: ContainerDep, me: ViewerDep) -> Response:
    await checked_form(request)
    if not me.principal.has(Role.ADMIN):
        raise PageProblem(403, "Halaman ini untuk admin kepegawaian.")
    await c.pool.execute(
        "UPDATE notification_deliveries SET status = 'retry', attempts = 0, next_attempt_at = $3, last_error = NULL "
        "WHERE id = $1 AND region = $2 AND status IN ('failed', 'retry')",
        delivery_id,
        me.person.region,
        c.clock.now(),
    )
    return redirect("/admin/pengiriman")
