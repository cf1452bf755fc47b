"""An outside authority's consideration of a request: BKN's for a CLTN (PP 11/2017 Pasal 336 ayat (2)).

The region's admin records the letter (number, date, PDF); until one is recorded the PYBMC may not grant a
kind whose pack rule names that authority (`external_approval`), answered 409 `external_approval_missing`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from contracts.api import ExternalApprovalIn, ExternalApprovalOut
from contracts.common import Citation, PolicyRef, RequestKind, Role
from contracts.events import ExternalApprovalRecorded, external_approvals_stream
from eventstore.store import AppendUnit, NewEvent
from policy.evaluator import KIND_LABEL
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem
from services.leave.attachments import attachment_url, store_file
from services.leave.files import decode_file

GRANTING = frozenset({"approve", "change"})


async def recorded_approvals(c: Container, request_id: UUID) -> list[tuple[ExternalApprovalRecorded, str, datetime]]:
    events = await c.store.read_stream(external_approvals_stream(request_id))
    return [(ExternalApprovalRecorded.model_validate(e.payload), e.actor, e.occurred_at) for e in events]


async def external_approvals_out(c: Container, request_id: UUID) -> list[ExternalApprovalOut]:
    out = []
    for payload, actor, at in await recorded_approvals(c, request_id):
        out.append(
            ExternalApprovalOut(
                request_id=request_id,
                authority=payload.authority,
                number=payload.number,
                date=payload.date,
                document_sha256=payload.document_sha256,
                document_url=attachment_url(request_id, payload.document.file_id) if payload.document else "",
                recorded_by=actor,
                recorded_at=at,
            )
        )
    return out


async def record_external_approval(
    c: Container, me: Principal, request_id: UUID, body: ExternalApprovalIn
) -> ExternalApprovalOut:
    row = await c.reads.request(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if not (me.has(Role.ADMIN) and me.region == row["region"]):
        raise Problem(403, "forbidden", "Hanya admin kepegawaian wilayah pengaju yang mencatat pertimbangan BKN.")
    authority = await required_authority(c, row)
    if authority is None:
        raise Problem(
            422,
            "external_approval_not_applicable",
            f"Pengajuan jenis {row['kind']} tidak memerlukan pertimbangan instansi lain.",
        )
    if body.authority != authority:
        raise Problem(422, "external_approval_wrong_authority", f"Pengajuan ini memerlukan pertimbangan {authority}.")
    if row["status"] not in ("PENDING", "RETURNED"):
        raise Problem(409, "request_finished", f"Pengajuan sudah selesai (status {row['status']}).")
    file = decode_file(body.document)
    if file.media_type != "application/pdf":
        raise Problem(422, "attachment_type_not_allowed", "Surat pertimbangan BKN dilampirkan sebagai PDF.")
    ref = await store_file(c, request_id=request_id, owner_nip=row["requester_nip"], file=file)
    payload = ExternalApprovalRecorded(
        request_id=request_id,
        authority=body.authority,
        number=body.number,
        date=body.date,
        document_sha256=ref.sha256,
        document=ref,
    )
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=external_approvals_stream(request_id),
        occurred_at=c.clock.now(),
        actor=me.nip,
        correlation_id=str(structlog.contextvars.get_contextvars().get("correlation_id") or request_id),
        clock=c.clock.mode,
    )
    await c.store.append(AppendUnit([event]))
    recorded = await external_approvals_out(c, request_id)
    return recorded[-1]


async def _rule_asking(c: Container, row: Any) -> tuple[str, Citation] | None:
    """The authority the request's own pack rule (the version it was judged by) asks for, with its citation."""
    kind = RequestKind(row["kind"])
    policy = row["policy"]
    if not kind.is_leave or not policy:
        return None
    packs = await c.policy.packs()
    ref = PolicyRef.model_validate(policy)
    loaded = packs.resolve(ref) or packs.version(ref.id, ref.version)
    rule = next((k for k in loaded.pack.leave.kinds if k.kind == kind), None) if loaded else None
    if loaded is None or rule is None or rule.external_approval is None:
        return None
    return rule.external_approval, loaded.cite(rule)


async def required_authority(c: Container, row: Any) -> str | None:
    asking = await _rule_asking(c, row)
    return asking[0] if asking else None


async def ensure_external_approval(c: Container, row: Any, task: Any, decision: str) -> None:
    """Before the PYBMC's grant reaches the workflow: 409 while the consideration it needs is missing."""
    if decision not in GRANTING or not _is_final_step(row, task):
        return
    asking = await _rule_asking(c, row)
    if asking is None:
        return
    authority, citation = asking
    approvals = await recorded_approvals(c, row["request_id"])
    if not any(p.authority == authority for p, _, _ in approvals):
        raise Problem(
            409,
            "external_approval_missing",
            f"{KIND_LABEL[RequestKind(row['kind'])].capitalize()} hanya dapat diberikan setelah pertimbangan "
            f"teknis {authority} dicatat oleh admin kepegawaian.",
            citations=[citation.model_dump(mode="json")],
        )


def _is_final_step(row: Any, task: Any) -> bool:
    route = row["route"] or []
    return bool(route) and task["step"] == len(route) - 1
