"""The approver's inbox: counts, filters, overdue marks, the unit's day picture, the requester's balance;
approve / reject / return with a comment, and bulk approve. Same handlers as the API.

Leave tasks also offer the form's other decisions — perubahan (date pickers) and ditangguhkan (date and
reason) — and show the requester's N-2/N-1/N record and every consideration given before this tier."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from contracts.api import BulkDecisionIn, BulkDecisionItem, DecisionIn
from contracts.common import DecisionKind
from services.approvals import commands
from services.kernel.deps import ContainerDep
from services.kernel.problems import Problem
from services.portal.leave_view import change_dates, considerations
from services.portal.web import PageProblem, ViewerDep, checked_form, redirect, render

router = APIRouter()
NEEDS_COMMENT = (DecisionKind.REJECT, DecisionKind.RETURN, DecisionKind.CHANGE, DecisionKind.DEFER)


def _valid_day(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


async def _inbox_page(
    request: Request,
    c: Any,
    me: Any,
    *,
    kind: str | None,
    day: str | None,
    unit: str | None,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    results: Any = None,
    status: int = 200,
) -> Response:
    everything = await commands.inbox(c, me.principal)
    # the counts cover the whole inbox; the list honours the filters (same meaning as GET /api/tasks)
    tasks = [
        t
        for t in everything
        if (not kind or t.kind.value == kind)
        and (not unit or t.requester["unit_code"] == unit)
        and (not day or day in {d.isoformat() for d in t.dates})
    ]
    acting_for = {t.task_id: t.on_behalf_of for t in everything if t.on_behalf_of}
    for t in everything:
        if t.via == "direct":  # a Plt/Plh named on the route itself (the post is vacant) also acts a.n. the holder
            row = await c.reads.request(t.request_id)
            step = next((s for s in (row["route"] if row else []) if s["tier"] == t.tier.value), None)
            if step and step.get("on_behalf_of"):
                acting_for[t.task_id] = step["on_behalf_of"]
    records: dict[str, Any] = {}
    earlier: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        if t.kind.is_leave:
            records[t.task_id] = t.leave_record
            earlier[t.task_id] = considerations(await c.reads.request(t.request_id))
    deciders = {d["actor"] for ds in earlier.values() for d in ds}
    names = await c.reads.names(set(acting_for.values()) | deciders)
    return await render(
        request,
        "inbox.html",
        {
            "tasks": tasks,
            "total": len(everything),
            "shown": len(tasks),
            "overdue": sum(1 for t in everything if t.overdue),
            "by_kind": Counter(t.kind.value for t in everything),
            "kinds": sorted({t.kind.value for t in everything}),
            "units": sorted({(t.requester["unit_code"], t.requester.get("unit_name") or "") for t in everything}),
            "filters": {"jenis": kind or "", "tanggal": day or "", "unit": unit or ""},
            "acting_for": acting_for,
            "holder_names": names,
            "records": records,
            "considerations": earlier,
            "notice": notice,
            "errors": errors or {},
            "results": results,
        },
        viewer=me,
        status=status,
    )


@router.get("/kotak-masuk")
async def inbox(
    request: Request,
    c: ContainerDep,
    me: ViewerDep,
    jenis: Annotated[str | None, Query(max_length=30)] = None,
    tanggal: Annotated[str | None, Query(max_length=10)] = None,
    unit: Annotated[str | None, Query(max_length=60)] = None,
    pesan: Annotated[str | None, Query(max_length=40)] = None,
    jumlah: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> Response:
    notices = {
        "approve": "Pengajuan disetujui.",
        "reject": "Pengajuan ditolak.",
        "return": "Pengajuan dikembalikan kepada pengaju.",
        "change": "Keputusan perubahan tanggal dicatat.",
        "defer": "Cuti tahunan ditangguhkan.",
        "massal": f"{jumlah or 0} pengajuan disetujui.",
    }
    return await _inbox_page(
        request, c, me, kind=jenis, day=_valid_day(tanggal), unit=unit, notice=notices.get(pesan or "")
    )


@router.post("/kotak-masuk/{task_id}/keputusan")
async def decide(
    request: Request, task_id: Annotated[str, commands.TaskIdPath], c: ContainerDep, me: ViewerDep
) -> Response:
    form = await checked_form(request)
    comment = str(form.get("catatan") or "").strip()
    try:
        decision = DecisionKind(str(form.get("keputusan") or ""))
    except ValueError:
        decision = None
    errors: dict[str, str] = {}
    terms: dict[str, Any] = {}
    if decision is None:
        errors[task_id] = "Pilih keputusan: setujui, tolak, atau kembalikan."
    elif decision in NEEDS_COMMENT and not comment:
        errors[task_id] = "Catatan wajib diisi untuk keputusan selain disetujui (juga perubahan dan penangguhan)."
    elif decision == DecisionKind.CHANGE:
        granted = change_dates(str(form.get("perubahan_dari") or ""), str(form.get("perubahan_sampai") or ""))
        if not granted:
            errors[task_id] = "Pilih tanggal cuti yang diberikan (perubahan): paling sedikit satu hari kerja."
        terms["dates"] = granted
    elif decision == DecisionKind.DEFER:
        until = _valid_day(str(form.get("ditangguhkan_sampai") or ""))
        if until is None:
            errors[task_id] = "Pilih tanggal sampai kapan cuti ditangguhkan."
        terms["defer_until"] = until
    if errors or decision is None:
        return await _inbox_page(request, c, me, kind=None, day=None, unit=None, errors=errors, status=422)
    try:
        body = DecisionIn(decision=decision, comment=comment or None, **terms)
    except ValidationError:
        errors[task_id] = "Catatan mengandung karakter yang tidak diizinkan atau terlalu panjang."
        return await _inbox_page(request, c, me, kind=None, day=None, unit=None, errors=errors, status=422)
    try:
        await commands.decide(c, me.principal, task_id, body, idempotency_key=str(form.get("idem") or "") or None)
    except Problem as problem:
        if problem.status in (403, 409, 422):
            errors[task_id] = problem.detail
            return await _inbox_page(
                request, c, me, kind=None, day=None, unit=None, errors=errors, status=problem.status
            )
        raise PageProblem.of(problem) from problem
    return redirect("/kotak-masuk?" + urlencode({"pesan": decision.value}))


@router.post("/kotak-masuk/setujui-terpilih")
async def approve_selected(request: Request, c: ContainerDep, me: ViewerDep) -> Response:
    form = await checked_form(request)
    chosen = [str(v) for v in form.getlist("tugas") if isinstance(v, str) and v]
    if not chosen:
        return await _inbox_page(
            request,
            c,
            me,
            kind=None,
            day=None,
            unit=None,
            errors={"massal": "Centang paling sedikit satu pengajuan."},
            status=422,
        )
    comment = str(form.get("catatan_massal") or "").strip() or None
    try:
        body = BulkDecisionIn(
            items=[BulkDecisionItem(task_id=t, decision=DecisionKind.APPROVE, comment=comment) for t in chosen]
        )
    except ValidationError:
        return await _inbox_page(
            request, c, me, kind=None, day=None, unit=None, errors={"massal": "Pilihan tidak valid."}, status=422
        )
    outcome = await commands.decide_many(c, me.principal, body)
    if not outcome.failed:
        return redirect("/kotak-masuk?" + urlencode({"pesan": "massal", "jumlah": outcome.succeeded}))
    notice = f"{outcome.succeeded} pengajuan disetujui, {outcome.failed} gagal."
    return await _inbox_page(request, c, me, kind=None, day=None, unit=None, notice=notice, results=outcome)
