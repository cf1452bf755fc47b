"""What a caller sees when Temporal refuses or cannot answer an Update: a problem with a code, never a 500."""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.kernel.temporal_errors import problem_from_update_error


def test_a_refusal_from_the_workflow_keeps_its_code_and_status() -> None:
    refused = WorkflowUpdateFailedError(ApplicationError("Tugas ini sudah diputuskan.", type="already_decided"))
    problem = problem_from_update_error(refused)
    assert (problem.status, problem.code) == (409, "already_decided")


def test_a_saturated_worker_is_a_retryable_503_not_a_server_error() -> None:
    problem = problem_from_update_error(WorkflowUpdateRPCTimeoutOrCancelledError())
    assert (problem.status, problem.code) == (503, "workflow_busy")
    assert "Idempotency-Key" in problem.detail


def test_an_unreachable_or_finished_workflow_is_said_so() -> None:
    gone = problem_from_update_error(RPCError("not found", RPCStatusCode.NOT_FOUND, b""))
    down = problem_from_update_error(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))
    assert (gone.status, gone.code) == (409, "request_finished")
    assert (down.status, down.code) == (503, "workflow_unavailable")
