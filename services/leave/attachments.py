"""Supporting documents of a leave request: sealed under the requester's key, their hashes in the log.

The request's own stream is written by its workflow alone, so the documents' events live in a stream of
their own (`leave-attachments-<id>`); its latest event is the set the request carries from that round on.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from uuid import UUID

import structlog

from contracts.api import AttachmentOut
from contracts.events import AttachmentRef, LeaveAttachmentsStored, attachments_stream
from eventstore.store import AppendUnit, NewEvent
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem
from services.leave.files import DecodedFile

SEAL_PURPOSE = "request"  # kept and shredded with the request's other personal data


def attachment_url(request_id: UUID | str, file_id: UUID | str) -> str:
    return f"/api/requests/{request_id}/attachments/{file_id}"


async def store_file(c: Container, *, request_id: UUID, owner_nip: str, file: DecodedFile) -> AttachmentRef:
    """Seal one file under `owner_nip`'s key and keep the ciphertext; the caller records the returned ref."""
    sealed = await c.vault.seal(
        owner_nip,
        SEAL_PURPOSE,
        {"name": file.name, "b64": base64.b64encode(file.content).decode()},
        c.clock.now(),
    )
    ref = AttachmentRef(
        file_id=uuid.uuid4(), name=file.name, media_type=file.media_type, size=file.size, sha256=file.sha256
    )
    await c.pool.execute(
        "INSERT INTO leave_files (file_id, request_id, sha256, media_type, size, sealed) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        ref.file_id,
        request_id,
        ref.sha256,
        ref.media_type,
        ref.size,
        sealed.model_dump(),
    )
    return ref


async def current_attachments(c: Container, request_id: UUID) -> list[AttachmentRef]:
    events = await c.store.read_stream(attachments_stream(request_id))
    if not events:
        return []
    return LeaveAttachmentsStored.model_validate(events[-1].payload).attachments


async def record_attachments(
    c: Container,
    me: Principal,
    request_id: UUID,
    files: list[DecodedFile],
    *,
    round_: int,
    keep: list[AttachmentRef] | None = None,
) -> list[AttachmentRef]:
    """Seal `files`, then append the set the request carries from `round_` on: `keep` plus the new ones."""
    refs = list(keep or [])
    for file in files:
        refs.append(await store_file(c, request_id=request_id, owner_nip=me.nip, file=file))
    payload = LeaveAttachmentsStored(request_id=request_id, round=round_, region=me.region, attachments=refs)
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=attachments_stream(request_id),
        occurred_at=c.clock.now(),
        actor=me.nip,
        correlation_id=str(structlog.contextvars.get_contextvars().get("correlation_id") or request_id),
        clock=c.clock.mode,
    )
    await c.store.append(AppendUnit([event]))
    return refs


def attachments_out(request_id: UUID, refs: list[AttachmentRef]) -> list[AttachmentOut]:
    return [
        AttachmentOut(
            id=r.file_id,
            name=r.name,
            media_type=r.media_type,
            size=r.size,
            sha256=r.sha256,
            url=attachment_url(request_id, r.file_id),
        )
        for r in refs
    ]


async def open_file(c: Container, request_id: UUID, file_id: UUID) -> tuple[dict[str, Any], bytes]:
    """The stored file's row and its content, checked against the hash the log recorded."""
    row = await c.pool.fetchrow("SELECT * FROM leave_files WHERE file_id = $1 AND request_id = $2", file_id, request_id)
    if row is None:
        raise Problem(404, "attachment_not_found", "Lampiran tidak ditemukan.")
    data = await c.vault.unseal(row["sealed"])
    if data is None:
        raise Problem(410, "attachment_erased", "Lampiran telah dihapus sesuai masa retensi data pribadi.")
    content = base64.b64decode(data["b64"])
    return {**dict(row), "name": data["name"]}, content
