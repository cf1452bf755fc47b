"""The letters projection: turns approvals and cancelled approvals into issuer jobs, and marks letters
issued or revoked when their events arrive. Jobs are keyed by request and round, so a replayed event adds
nothing; the rendering itself happens in the issuer, outside this transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts.events import EventEnvelope
from services.documents.leave_form import FORM_KIND, OUTCOME_EVENTS, form_wanted
from services.documents.letters import letter_kind
from services.notifications.context import fold_request, load_request_facts

TRIGGERS = ("RequestApproved", "RequestCancelled", "RequestRejected", "RequestDeferred")
# Told (at commit) when a job is queued, so the issuer wakes for jobs and not for every batch of events.
LETTER_JOBS_CHANNEL = "lentur_letter_jobs"


def issue_job_id(request_id: UUID, round_: int) -> str:
    return f"issue:{request_id}:{round_}"


def form_job_id(request_id: UUID, round_: int) -> str:
    return f"form:{request_id}:{round_}"


class LetterProjection:
    name = "letters"
    consumes = frozenset({*TRIGGERS, "DocumentIssued", "DocumentRevoked"})

    async def apply_batch(self, conn: Any, events: list[EventEnvelope]) -> None:
        relevant = [e for e in events if e.type in self.consumes]
        if not relevant:
            return
        request_ids = sorted({UUID(str(e.payload["request_id"])) for e in relevant if e.type in TRIGGERS})
        facts = await load_request_facts(conn, request_ids)
        for event in relevant:
            p = event.payload
            if event.type in OUTCOME_EVENTS:
                await self._form_job(conn, event, facts)
            if event.type == "RequestApproved":
                request_id = UUID(str(p["request_id"]))
                context = fold_request(facts.get(request_id, []), up_to_position=event.position)
                kind = letter_kind(context.kind, context.country) if context else None
                if kind is not None:
                    await self._job(conn, issue_job_id(request_id, p["round"]), "issue", kind, event)
            elif event.type == "RequestCancelled" and p.get("after_approval"):
                request_id = UUID(str(p["request_id"]))
                issued = await conn.fetchrow(
                    "SELECT kind, round FROM letter_jobs WHERE request_id = $1 AND action = 'issue' "
                    "ORDER BY round DESC LIMIT 1",
                    request_id,
                )
                if issued is not None:
                    await self._job(conn, f"revoke:{request_id}:{issued['round']}", "revoke", issued["kind"], event)
            elif event.type == "DocumentIssued":
                await conn.execute(
                    "UPDATE documents SET issued_event_id = $2, issued_position = $3, issued_at = $4 WHERE doc_id = $1",
                    p["document_id"],
                    event.event_id,
                    event.position,
                    event.occurred_at,
                )
            elif event.type == "DocumentRevoked":
                await conn.execute(
                    "UPDATE documents SET revoked_position = $2, revoked_at = $3, revoke_reason = $4 WHERE doc_id = $1",
                    p["document_id"],
                    event.position,
                    event.occurred_at,
                    p["reason"],
                )

    async def _form_job(self, conn: Any, event: EventEnvelope, facts: dict[UUID, list[Any]]) -> None:
        """The leave form of the round this outcome ended (see `leave_form.py`)."""
        request_id = UUID(str(event.payload["request_id"]))
        context = fold_request(facts.get(request_id, []), up_to_position=event.position)
        if context is not None and form_wanted(context.kind, event.type, event.payload):
            await self._job(conn, form_job_id(request_id, event.payload["round"]), "form", FORM_KIND, event)

    async def _job(self, conn: Any, job_id: str, action: str, kind: str, event: EventEnvelope) -> None:
        round_ = int(job_id.rsplit(":", 1)[1])
        await conn.execute(
            "WITH queued AS (INSERT INTO letter_jobs (job_id, action, request_id, round, kind, event_id, position, "
            "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING "
            "RETURNING job_id) SELECT pg_notify($9, job_id) FROM queued",
            job_id,
            action,
            UUID(str(event.payload["request_id"])),
            round_,
            kind,
            event.event_id,
            event.position,
            event.occurred_at,
            LETTER_JOBS_CHANNEL,
        )
