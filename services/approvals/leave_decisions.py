"""Checks a leave decision's own terms before it reaches the workflow: the dates a *perubahan* grants are
judged again by the pack (balance, calendar, caps), a *ditangguhkan* names a date within the next year.

Peraturan BKN 24/2017 and PP 11/2017: a PYBMC may approve, change, defer (annual leave only, for an urgent
service need, at most one year) or refuse; a reason accompanies every decision but approval.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.api import DecisionIn, SubmitRequestIn
from contracts.common import DecisionKind, RequestKind
from policy.calendar import local_date
from services.kernel.container import Container
from services.kernel.judge import judge
from services.kernel.problems import Problem
from services.requests.commands import refusal_problem

DEFER_AT_MOST_DAYS = 366


def one_year_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 2, 28)


async def leave_decision_terms(c: Container, task: Any, row: Any, body: DecisionIn) -> dict[str, Any]:
    """The DecideCommand fields a change or deferral of `task` carries (`row`: its request, as read); a 422
    problem when its terms are wrong."""
    decision = body.decision
    if decision != DecisionKind.APPROVE and not (body.comment or "").strip():
        raise Problem(422, "comment_required", "Keputusan selain disetujui wajib disertai alasan atau catatan.")
    if decision not in (DecisionKind.CHANGE, DecisionKind.DEFER):
        if body.dates is not None or body.defer_until is not None:
            raise Problem(
                422,
                "decision_terms_not_allowed",
                "Tanggal hanya untuk perubahan, tanggal penangguhan hanya untuk ditangguhkan.",
            )
        return {}
    kind = RequestKind(task["kind"])
    if not kind.is_leave:
        raise Problem(422, "decision_not_allowed", "Perubahan dan penangguhan hanya untuk pengajuan cuti.")
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if decision == DecisionKind.DEFER:
        return {"defer_until": _checked_defer_until(c, kind, row, body)}
    return await _judged_change(c, kind, row, body)


def _checked_defer_until(c: Container, kind: RequestKind, row: Any, body: DecisionIn) -> date:
    if kind != RequestKind.CUTI_TAHUNAN:
        raise Problem(422, "defer_annual_leave_only", "Hanya cuti tahunan yang dapat ditangguhkan.")
    if body.defer_until is None:
        raise Problem(422, "defer_until_required", "Penangguhan wajib menyebut tanggal sampai kapan (defer_until).")
    today = local_date(c.clock.now(), row["timezone"])
    if body.defer_until <= today:
        raise Problem(422, "defer_until_not_future", "Tanggal penangguhan harus setelah hari ini.")
    if body.defer_until > one_year_on(today):
        raise Problem(422, "defer_too_long", "Cuti tahunan ditangguhkan paling lama satu tahun.")
    return body.defer_until


async def _judged_change(c: Container, kind: RequestKind, row: Any, body: DecisionIn) -> dict[str, Any]:
    if not body.dates:
        raise Problem(422, "dates_required", "Perubahan wajib menyebut tanggal yang diberikan (dates).")
    requester = await c.reads.person(row["requester_nip"])
    if requester is None:
        raise Problem(409, "requester_unknown", "Pengaju tidak lagi ada di direktori.")
    draft = SubmitRequestIn(kind=kind, dates=sorted(set(body.dates)), reason=body.comment or "perubahan")
    evaluation = await judge(c, requester, draft, pinned=row["policy"], resubmitting=row["request_id"])
    if not evaluation.allowed:
        raise refusal_problem(evaluation)
    return {"dates": sorted(set(body.dates)), "evaluation": evaluation}
