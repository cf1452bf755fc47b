"""An outside authority's consideration of a request: BKN's for a CLTN (PP 11/2017 Pasal 336 ayat (2)).

The region's admin records the letter (number, date, PDF); until one is recorded the PYBMC may not grant a
kind whose pack rule names that authority (`external_approval`), answered 409 `external_approval_missing`.
"""

from __future__ import annotations

import uuid
from uuid import UUID

import structlog

from contracts.api import ExternalApprovalIn, ExternalApprovalOut
from contracts.common import PolicyRef, RequestKind, Role
from contracts.events import ExternalApprovalRecorded, external_approvals_stream
from eventstore.store import AppendUnit, NewEvent
from services.auth import Principal
from services.container import Container
from services.leave.attachments import attachment_url, store_file
from services.leave.files import decode_file
from services.problems import Problem

GRANTING = frozenset({"approve", "change"})


async def recorded_approvals(c: Container, request_id: UUID) -> list[tuple[ExternalApprovalRecorded, str, object]]:
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
    if body.date > c.clock.now().date():
        raise Problem(422, "external_approval_date_in_future", "Tanggal surat pertimbangan berada di masa depan.")
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


async def required_authority(c: Container, row: object) -> str | None:
    """The authority whose consideration the request's pack rule asks for, or None."""
    kind = RequestKind(row["kind"])  # type: ignore[index]
    if not kind.is_leave:
        return None
    policy = row["policy"]  # type: ignore[index]
    if not policy:
        return None
    packs = await c.policy.packs()
    ref = PolicyRef.model_validate(policy)
    loaded = packs.resolve(ref) or packs.version(ref.id, ref.version)
    if loaded is None:
        return None
    rule = next((k for k in loaded.pack.leave.kinds if k.kind == kind), None)
    return rule.external_approval if rule is not None else None


async def ensure_external_approval(c: Container, row: object, task: object, decision: str) -> None:
    """Before the PYBMC's grant reaches the workflow: 409 while the consideration it needs is missing."""
    if decision not in GRANTING or row["kind"] != RequestKind.CLTN.value:  # type: ignore[index]
        return
    authority = await required_authority(c, row)
    if authority is None:
        return
    if not await _is_final_step(row, task):
        return
    approvals = await recorded_approvals(c, row["request_id"])  # type: ignore[index]
    if not any(p.authority == authority for p, _, _ in approvals):
        raise Problem(
            409,
            "external_approval_missing",
            f"Cuti di luar tanggungan negara hanya dapat diberikan setelah pertimbangan teknis {authority} "
            "dicatat oleh admin kepegawaian (PP 11/2017 Pasal 336 ayat (2)).",
        )


async def _is_final_step(row: object, task: object) -> bool:
    route = row["route"] or []  # type: ignore[index]
    return bool(route) and task["step"] == len(route) - 1  # type: ignore[index]
