"""Turns a refused Temporal Update into the problem the caller should see."""

from __future__ import annotations

from temporalio.client import RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.kernel.problems import Problem

STATUS_BY_CODE = {
    "already_decided": 409,
    "not_pending": 409,
    "unknown_task": 409,
    "self_approval": 403,
    "not_assignee": 403,
    "comment_required": 422,
    "not_requester": 403,
    "not_cancellable": 409,
    "cancel_too_late": 409,
    "not_returned": 409,
    "insufficient_leave_balance": 422,
    "decision_not_allowed": 422,
    "defer_annual_leave_only": 422,
    "dates_required": 422,
    "defer_until_required": 422,
}


def problem_from_update_error(exc: Exception, *, finished_detail: str = "Pengajuan sudah selesai diproses.") -> Problem:
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type:
            status = STATUS_BY_CODE.get(cause.type, 409)
            return Problem(status, cause.type, cause.message)
        return Problem(409, "update_refused", str(cause or exc))
    if isinstance(exc, RPCTimeoutOrCancelledError):
        # The workflow did not answer in time (a saturated worker): nothing was lost, and a retry with the same
        # Idempotency-Key is applied at most once (Temporal deduplicates Updates by id).
        return Problem(
            503,
            "workflow_busy",
            "Permintaan belum selesai diproses dalam batas waktu; ulangi dengan Idempotency-Key yang sama.",
        )
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            # The workflow has finished (e.g. the request was already decided and its period ended).
            return Problem(409, "request_finished", finished_detail)
        return Problem(503, "workflow_unavailable", "Layanan alur kerja sedang tidak tersedia; coba lagi.")
    raise exc
