"""Requester commands: submit, cancel, resubmit. Each is a small function over the container."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any
from uuid import UUID

import structlog
from temporalio.client import RPCTimeoutOrCancelledError, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from contracts.api import CancelIn, RequestOut, SubmitRequestIn
from contracts.canonical import canonical_json
from contracts.events import request_stream
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.judge import judge
from services.kernel.problems import Problem
from services.kernel.temporal_errors import problem_from_update_error
from services.leave.attachments import current_attachments, record_attachments
from services.leave.files import DecodedFile, decode_files
from services.requests.links import check_link
from services.requests.views import request_out
from workflows.approval.models import (
    ApprovalInput,
    CancelCommand,
    RequesterRef,
    RequestSnapshot,
    ResubmitCommand,
    workflow_id_for,
)
from workflows.approval.workflow import ApprovalWorkflow

log = structlog.get_logger(__name__)
IDEMPOTENCY_NAMESPACE = UUID("0b8e4c7a-2f61-4d3b-a9c5-7e1d2f3a4b5c")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def refusal_problem(evaluation: Any) -> Problem:
    refusal = evaluation.refusal
    return Problem(
        422,
        refusal.code,
        refusal.message,
        title="Ditolak oleh kebijakan",
        citations=[c.model_dump(mode="json") for c in refusal.citations],
        policy=evaluation.policy.model_dump(mode="json"),
    )


async def visible_request(c: Container, request_id: UUID, position: int, viewer: Principal) -> RequestOut:
    """Read-your-writes: answer only once the read model shows what was just written."""
    if not await c.waiter.wait_for(position, timeout=c.settings.read_your_writes_timeout_seconds):
        raise Problem(504, "projection_lagging", "Perubahan tersimpan, tetapi tampilan belum diperbarui; coba lagi.")
    row = await c.reads.request_for_view(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    return await request_out(c, row, viewer)


async def _seal_personal(c: Container, principal: Principal, body: SubmitRequestIn) -> Any:
    data: dict[str, Any] = {
        "reason": body.reason,
        "work_plan": body.work_plan,
        "location_text": body.location.text if body.location else None,
    }
    if body.kind.is_leave and body.leave is not None:
        # the form's "alamat selama menjalankan cuti" and phone: personal data, sealed with the rest
        data["leave_address"] = body.leave.address
        data["leave_phone"] = body.leave.phone
    return await c.vault.seal(principal.nip, "request", data, c.clock.now())


def _leave_files(body: SubmitRequestIn) -> list[DecodedFile]:
    """What a leave request must carry beyond the common fields, checked before any rule is asked."""
    if not body.kind.is_leave:  # flexible work and travel abroad carry neither
        if body.attachments:
            raise Problem(422, "attachments_not_allowed", "Lampiran hanya untuk pengajuan cuti.")
        return []
    if body.leave is None:
        raise Problem(
            422,
            "leave_details_required",
            "Alamat dan nomor telepon selama menjalankan cuti wajib diisi (formulir cuti, Peraturan BKN 24/2017 "
            "Anak Lampiran I.b).",
        )
    return decode_files(body.attachments)


async def submit_request(
    c: Container, principal: Principal, body: SubmitRequestIn, idempotency_key: str | None
) -> RequestOut:
    person = principal.person
    body_sha = _sha(canonical_json(body.model_dump(mode="json")))
    if idempotency_key:
        request_id = uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{person.nip}|{idempotency_key}")
        first = await c.store.read_stream(request_stream(request_id))
        if first:
            if first[0].payload.get("body_sha256") != body_sha:
                raise Problem(
                    422,
                    "idempotency_key_reused",
                    "Idempotency-Key ini sudah dipakai untuk pengajuan dengan isi berbeda.",
                )
            return await visible_request(c, request_id, first[-1].position, principal)
    else:
        request_id = uuid.uuid4()

    if body.travel_purpose is not None and not body.kind.is_travel_abroad:
        raise Problem(
            422,
            "travel_purpose_not_applicable",
            "travel_purpose hanya untuk permohonan izin ke luar negeri (IZIN_LUAR_NEGERI).",
        )
    if body.linked_request_id is not None:
        await check_link(c, person.nip, body)

    started = time.perf_counter()
    files = _leave_files(body)
    evaluation = await judge(c, person, body, attachments=len(files))
    if not evaluation.allowed:
        raise refusal_problem(evaluation)
    judged = time.perf_counter()
    if files:
        # sealed and recorded before the workflow starts: a request never exists without its documents
        await record_attachments(c, principal, request_id, files, round_=1)

    inp = ApprovalInput(
        request_id=request_id,
        correlation_id=str(structlog.contextvars.get_contextvars().get("correlation_id") or request_id),
        requester=RequesterRef(
            nip=person.nip,
            name=person.name,
            region=person.region,
            opd_code=person.opd_code,
            unit_code=person.unit_code,
        ),
        kind=body.kind,
        dates=sorted(set(body.dates)),
        country=body.location.country if body.location else None,
        personal=await _seal_personal(c, principal, body),
        body_sha256=body_sha,
        idempotency_key_sha256=_sha(idempotency_key) if idempotency_key else None,
        evaluation=evaluation,
        clock_offset_seconds=c.clock.offset.total_seconds(),
        clock_mode=c.clock.mode,
        travel_purpose=body.travel_purpose,
        linked_request_id=body.linked_request_id,
    )
    workflow_id = workflow_id_for(request_id)
    structlog.contextvars.bind_contextvars(request_id=str(request_id), workflow_id=workflow_id)
    start = WithStartWorkflowOperation(
        ApprovalWorkflow.run,
        inp,
        id=workflow_id,
        task_queue=c.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        snapshot: RequestSnapshot = await c.temporal.execute_update_with_start_workflow(
            ApprovalWorkflow.submitted,
            start_workflow_operation=start,
            id=f"submitted-{request_id}",
            result_type=RequestSnapshot,
        )
    except WorkflowAlreadyStartedError:
        snapshot = await c.temporal.get_workflow_handle(workflow_id).result(result_type=RequestSnapshot)
    except (RPCError, RPCTimeoutOrCancelledError) as exc:
        raise problem_from_update_error(exc) from exc
    if snapshot.refusal is not None and snapshot.status == "REFUSED":
        raise Problem(
            422,
            snapshot.refusal.code,
            snapshot.refusal.message,
            title="Ditolak oleh kebijakan",
            citations=[ct.model_dump(mode="json") for ct in snapshot.refusal.citations],
        )
    recorded = time.perf_counter()
    view = await visible_request(c, request_id, snapshot.last_position, principal)
    log.info(
        "request_submitted",
        kind=body.kind.value,
        status=snapshot.status,
        judge_ms=round((judged - started) * 1000, 1),
        workflow_ms=round((recorded - judged) * 1000, 1),
        visible_ms=round((time.perf_counter() - recorded) * 1000, 1),
    )
    return view


async def _owned(c: Container, principal: Principal, request_id: UUID) -> Any:
    row = await c.reads.request(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if row["requester_nip"] != principal.nip:
        raise Problem(403, "not_requester", "Hanya pengaju yang dapat melakukan ini.")
    return row


def update_id(action: str, subject: object, principal: Principal, idempotency_key: str | None) -> str:
    """Temporal deduplicates Updates by id within a run: a retried call with the same key is applied once."""
    if idempotency_key:
        return f"{action}-{subject}-{_sha(f'{principal.nip}|{idempotency_key}')[:16]}"
    return f"{action}-{subject}-{uuid.uuid4().hex}"


async def cancel_request(
    c: Container, principal: Principal, request_id: UUID, body: CancelIn, idempotency_key: str | None = None
) -> RequestOut:
    await _owned(c, principal, request_id)
    handle = c.temporal.get_workflow_handle(workflow_id_for(request_id))
    try:
        snapshot: RequestSnapshot = await handle.execute_update(
            ApprovalWorkflow.cancel,
            CancelCommand(actor=principal.nip, reason=body.reason),
            id=update_id("cancel", request_id, principal, idempotency_key),
            result_type=RequestSnapshot,
        )
    except Exception as exc:
        raise problem_from_update_error(
            exc, finished_detail="Pengajuan sudah selesai dan tidak dapat dibatalkan lagi."
        ) from exc
    return await visible_request(c, request_id, snapshot.last_position, principal)


async def resubmit_request(
    c: Container, principal: Principal, request_id: UUID, body: SubmitRequestIn, idempotency_key: str | None = None
) -> RequestOut:
    row = await _owned(c, principal, request_id)
    if body.kind.value != row["kind"]:
        raise Problem(422, "kind_change_not_allowed", "Jenis pengajuan tidak dapat diubah saat diajukan ulang.")
    if body.travel_purpose != row["travel_purpose"] or body.linked_request_id not in (None, row["linked_request_id"]):
        raise Problem(
            422,
            "travel_change_not_allowed",
            "Tujuan perjalanan dan tautan pengajuan tidak dapat diubah saat diajukan ulang; ajukan permohonan baru.",
        )
    if row["status"] != "RETURNED":
        raise Problem(
            409,
            "not_returned",
            f"Hanya pengajuan yang dikembalikan yang dapat diajukan ulang (status {row['status']}).",
        )
    files = _leave_files(body)
    kept = [] if files else await current_attachments(c, request_id)
    evaluation = await judge(
        c, principal.person, body, pinned=row["policy"], resubmitting=request_id, attachments=len(files or kept)
    )
    if not evaluation.allowed:
        raise refusal_problem(evaluation)
    if files:  # new documents replace the earlier set; none sent keeps it
        await record_attachments(c, principal, request_id, files, round_=row["round"] + 1)
    handle = c.temporal.get_workflow_handle(workflow_id_for(request_id))
    command = ResubmitCommand(
        actor=principal.nip,
        dates=sorted(set(body.dates)),
        country=body.location.country if body.location else None,
        personal=await _seal_personal(c, principal, body),
        body_sha256=_sha(canonical_json(body.model_dump(mode="json"))),
        evaluation=evaluation,
    )
    try:
        snapshot: RequestSnapshot = await handle.execute_update(
            ApprovalWorkflow.resubmit,
            command,
            id=update_id("resubmit", request_id, principal, idempotency_key),
            result_type=RequestSnapshot,
        )
    except Exception as exc:
        raise problem_from_update_error(exc) from exc
    return await visible_request(c, request_id, snapshot.last_position, principal)
