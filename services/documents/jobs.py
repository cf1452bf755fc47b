"""The issuer's unit of work, and a document on its way to being numbered."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.documents.letters import Holder, Signer
from services.notifications.context import RequestContext, StreamFact


@dataclass(frozen=True)
class Job:
    job_id: str
    action: str
    request_id: UUID
    round: int
    kind: str
    event_id: UUID
    position: int
    attempts: int


@dataclass(frozen=True)
class Numbered:
    """A document about to be numbered: what it is for, what caused it, its stream, holder and signer."""

    job: Job
    context: RequestContext
    cause: StreamFact
    event_id: UUID
    stream: str
    doc_id: str
    issued_on: date
    holder: Holder
    signer: Signer
    sealed_under: str | None = None  # the key id of the personal data it shows; stored sealed under it


def verify_url(base_url: str, doc_id: str) -> str:
    return f"{base_url.rstrip('/')}/verifikasi/{doc_id}"


def new_document_id() -> str:
    # 192 random bits: the verification URL is public, so ids must be impossible to guess or enumerate.
    return secrets.token_urlsafe(24)
