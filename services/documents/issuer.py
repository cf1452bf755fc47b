"""The letter issuer: renders the letter for an approved request and records it as DocumentIssued.

The number is the version of the OPD's letters stream for the year: the event is appended with the stream's
current version as the expected one, so two issuers racing for number n cannot both win, and a rollback
never burns a number (as a database sequence would). The PDF is stored before the event is appended; the
event is the moment the letter exists. The event id is derived from the request and round, so a retry after
a crash finds the letter already issued instead of issuing a second one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from contracts.common import PolicyRef
from contracts.events import SYSTEM_ACTOR, DocumentIssued, DocumentRevoked
from eventstore.store import AppendUnit, ConcurrencyError, NewEvent, PostgresEventStore
from runtime.clock import Clock
from services.documents.form_issuer import FormIssuer
from services.documents.jobs import Job, Numbered, new_document_id, verify_url
from services.documents.letters import (
    Holder,
    Letter,
    Signer,
    letter_number,
    letters_stream,
    position_of,
    post_title,
    signer_label,
)
from services.documents.projection import LETTER_JOBS_CHANNEL
from services.documents.render import render_letter
from services.kernel.bahasa import local_date
from services.kernel.privacy import PersonalDataVault
from services.kernel.regions import region_display
from services.notifications.context import RequestContext, StreamFact, fold_request, load_request_facts
from services.notifications.dispatcher import RetryPolicy
from services.notifications.metrics import LETTERS

log = structlog.get_logger(__name__)
LETTER_NAMESPACE = UUID("5b2f8e1a-7c4d-4e6b-a9f0-3d2c1b0a9e8f")
MAX_NUMBER_RACES = 100
REVOKED_REASON = "Persetujuan dibatalkan atas permintaan pegawai sebelum masa berlakunya dimulai."


class NotYet(Exception):
    """The job depends on another that has not finished; try again shortly."""


def issued_event_id(request_id: UUID, round_: int) -> UUID:
    return uuid.uuid5(LETTER_NAMESPACE, f"issued|{request_id}|{round_}")


def revoked_event_id(doc_id: str) -> UUID:
    return uuid.uuid5(LETTER_NAMESPACE, f"revoked|{doc_id}")


class LetterIssuer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: PostgresEventStore,
        clock: Clock,
        *,
        base_url: str,
        dsn: str | None = None,
        retry: RetryPolicy | None = None,
        vault: PersonalDataVault | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.clock = clock
        self.base_url = base_url
        self.dsn = dsn
        self.retry = retry or RetryPolicy(base_seconds=5.0, max_seconds=600.0, max_attempts=20)
        self._wake = asyncio.Event()
        # One issuer at a time per letters stream in this process: every lost race costs a re-render.
        self._stream_locks: dict[str, asyncio.Lock] = {}
        self.vault = vault
        self.forms = FormIssuer(self, vault)

    def stream_lock(self, stream: str) -> asyncio.Lock:
        return self._stream_locks.setdefault(stream, asyncio.Lock())

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    worked = await self.run_once()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("letter_pass_failed", error=str(exc))
                    worked = 0
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 1.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        if self.dsn is None:
            return
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(LETTER_JOBS_CHANNEL, lambda *_: self._wake.set())
                    while not conn.is_closed():
                        await asyncio.sleep(5.0)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("letter_listener_retry", error=str(exc))
                await asyncio.sleep(2.0)

    async def run_once(self, limit: int = 20) -> int:
        now = self.clock.now()
        rows = await self.pool.fetch(
            "WITH due AS (SELECT job_id FROM letter_jobs "
            "WHERE (status IN ('pending', 'retry') AND next_attempt_at <= $1) "
            "OR (status = 'sending' AND lease_until < $1) ORDER BY position LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE letter_jobs j SET status = 'sending', lease_until = $1 + interval '5 minutes', "
            "attempts = j.attempts + 1 FROM due WHERE j.job_id = due.job_id "
            "RETURNING j.job_id, j.action, j.request_id, j.round, j.kind, j.event_id, j.position, j.attempts",
            now,
            limit,
        )
        for row in sorted(rows, key=lambda r: r["position"]):
            job = Job(**dict(row))
            try:
                if job.action == "issue":
                    await self.issue(job)
                elif job.action == "form":
                    await self.forms.issue(job)
                else:
                    await self.revoke(job)
            except NotYet as exc:
                await self._retry(job, str(exc), final=False)
            except Exception as exc:  # recorded on the job and retried; the admin sees it if it keeps failing
                log.error("letter_job_failed", job=job.job_id, error=repr(exc))
                await self._retry(job, repr(exc), final=job.attempts >= self.retry.max_attempts)
            else:
                await self.pool.execute(
                    "UPDATE letter_jobs SET status = 'done', done_at = $2, lease_until = NULL, last_error = NULL "
                    "WHERE job_id = $1",
                    job.job_id,
                    self.clock.now(),
                )
                LETTERS.labels(job.action, "done").inc()
        return len(rows)

    async def _retry(self, job: Job, error: str, *, final: bool) -> None:
        await self.pool.execute(
            "UPDATE letter_jobs SET status = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4 "
            "WHERE job_id = $1",
            job.job_id,
            "failed" if final else "retry",
            self.clock.now() + self.retry.delay(job.attempts),
            error[:500],
        )
        LETTERS.labels(job.action, "failed" if final else "retry").inc()

    # -- issuing ---------------------------------------------------------------------------------------

    async def people(self, nips: set[str]) -> dict[str, asyncpg.Record]:
        rows = await self.pool.fetch("SELECT * FROM rm_people WHERE nip = ANY($1::text[])", sorted(nips))
        return {r["nip"]: r for r in rows}

    async def issue(self, job: Job) -> None:
        event_id = issued_event_id(job.request_id, job.round)
        if await self.pool.fetchval("SELECT 1 FROM events WHERE event_id = $1", event_id):
            return  # issued before a crash; nothing more to do
        facts = (await load_request_facts(self.pool, [job.request_id])).get(job.request_id, [])
        approved = next((f for f in facts if f.event_id == job.event_id), None)
        context = fold_request(facts, up_to_position=job.position)
        if approved is None or context is None:
            raise RuntimeError(f"request {job.request_id} has no approval at position {job.position}")
        decision = next(
            (d for d in reversed(context.decisions) if d.decision == "approve" and d.round == job.round), None
        )
        if decision is None:
            raise RuntimeError(f"request {job.request_id} was approved without an approving decision")
        letter_parts = await self.parts(context, decision.actor, decision.on_behalf_of, decision.tier)
        display = region_display(context.region)
        issued_on = local_date(approved.occurred_at, context.timezone or display.timezone)
        stream = letters_stream(context.region, context.opd_code, issued_on.year)
        existing = await self.pool.fetchval(
            "SELECT doc_id FROM documents WHERE request_id = $1 AND round = $2 AND kind = $3",
            job.request_id,
            job.round,
            job.kind,
        )
        doc_id = existing or new_document_id()
        holder, signer, opd_name = letter_parts
        async with self.stream_lock(stream):
            await self._issue_numbered(job, context, approved, event_id, stream, doc_id, holder, signer, opd_name)

    async def _issue_numbered(
        self,
        job: Job,
        context: RequestContext,
        approved: StreamFact,
        event_id: UUID,
        stream: str,
        doc_id: str,
        holder: Holder,
        signer: Signer,
        opd_name: str,
    ) -> None:
        display = region_display(context.region)
        issued_on = local_date(approved.occurred_at, context.timezone or display.timezone)

        def render(number: str) -> bytes:
            return render_letter(
                Letter(
                    doc_id=doc_id,
                    kind=job.kind,
                    number=number,
                    issued_on=issued_on,
                    region=display,
                    opd_name=opd_name,
                    holder=holder,
                    request_kind=context.kind,
                    dates=tuple(sorted(context.dates)),
                    working_days=context.working_days,
                    country=context.country,
                    signer=signer,
                    verify_url=verify_url(self.base_url, doc_id),
                    travel_purpose=context.travel_purpose,
                )
            )

        await self.append_numbered(
            Numbered(job, context, approved, event_id, stream, doc_id, issued_on, holder, signer),
            lambda sequence: letter_number(display, sequence, context.opd_code, issued_on),
            render,
        )

    async def append_numbered(
        self, doc: Numbered, number_of: Callable[[int], str], render: Callable[[str], bytes]
    ) -> None:
        """Render with the next number of the document's stream and append DocumentIssued expecting that
        stream's version; on a lost race, render again with the number after."""
        job, stream = doc.job, doc.stream
        for _race in range(MAX_NUMBER_RACES):
            version = await self.store.stream_version(stream)
            sequence = version + 1
            number = number_of(sequence)
            pdf = await asyncio.to_thread(render, number)
            sha256 = hashlib.sha256(pdf).hexdigest()
            await self._store_pdf(doc, sequence, number, pdf, sha256)
            payload = DocumentIssued(
                document_id=doc.doc_id,
                request_id=job.request_id,
                kind=job.kind,
                number=number,
                sha256=sha256,
                signer_nip=doc.signer.nip,
                signer_name=doc.signer.name,
                signer_title=doc.signer.title,
                on_behalf_of=doc.signer.on_behalf_of,
            )
            cause = doc.cause
            event = NewEvent.of(
                payload,
                event_id=doc.event_id,
                stream_id=stream,
                occurred_at=self.clock.now(),
                actor=SYSTEM_ACTOR,
                correlation_id=cause.correlation_id,
                causation_id=str(cause.event_id),
                policy=PolicyRef.model_validate(cause.policy) if cause.policy else None,
                clock=self.clock.mode,
            )
            try:
                await self.store.append(AppendUnit([event], {stream: version}))
            except ConcurrencyError:
                continue  # another issuer took number n; render again with the next one
            log.info(
                "document_issued", request_id=str(job.request_id), kind=job.kind, number=number, doc=doc.doc_id[:6]
            )
            return
        raise RuntimeError(f"{stream}: no free number after {MAX_NUMBER_RACES} attempts")

    async def parts(
        self, context: RequestContext, actor: str, on_behalf_of: str | None, tier: str
    ) -> tuple[Holder, Signer, str]:
        people = await self.people({context.requester_nip, actor, *([on_behalf_of] if on_behalf_of else [])})
        requester = people.get(context.requester_nip)
        unit_name = requester["unit_name"] if requester else context.unit_code
        opd_name = requester["opd_name"] if requester else context.opd_code
        holder = Holder(
            nip=context.requester_nip,
            name=context.requester_name,
            employee_type=requester["employee_type"] if requester else "PNS",
            position=position_of(tuple(requester["roles"]) if requester else (), unit_name, opd_name),
            unit_name=unit_name,
            opd_name=opd_name,
        )
        signer_row = people.get(actor)
        signer = Signer(
            nip=actor,
            name=signer_row["name"] if signer_row else actor,
            post=post_title(tier, unit_name, opd_name, region_display(context.region)),
            label=signer_label(signer_row["acting_for"] if signer_row else None, on_behalf_of, on_behalf_of in people),
            on_behalf_of=on_behalf_of,
        )
        return holder, signer, opd_name

    async def _at_rest(self, doc: Numbered, pdf: bytes) -> tuple[bytes, dict[str, Any] | None]:
        """The bytes to store and, for a document showing personal data, the sealed copy instead."""
        if doc.sealed_under is None or self.vault is None:
            return pdf, None
        nip, purpose, period = doc.sealed_under.split(":")
        at = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
        sealed = await self.vault.seal(nip, purpose, {"pdf": base64.b64encode(pdf).decode()}, at)
        return b"", sealed.model_dump(mode="json")

    async def _store_pdf(self, doc: Numbered, sequence: int, number: str, pdf: bytes, sha256: str) -> None:
        job = doc.job
        stored, sealed = await self._at_rest(doc, pdf)
        await self.pool.execute(
            "INSERT INTO documents (doc_id, request_id, round, kind, letters_stream, sequence, number, sha256, pdf, "
            "issued_on, holder_nip, holder_name, signer_nip, signer_name, signer_title, on_behalf_of, region, "
            "opd_code, rendered_at, pdf_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            "$15, $16, $17, $18, $19, $20::jsonb) ON CONFLICT (doc_id) DO UPDATE SET "
            "letters_stream = EXCLUDED.letters_stream, sequence = EXCLUDED.sequence, number = EXCLUDED.number, "
            "sha256 = EXCLUDED.sha256, pdf = EXCLUDED.pdf, pdf_sealed = EXCLUDED.pdf_sealed, "
            "signer_nip = EXCLUDED.signer_nip, signer_name = EXCLUDED.signer_name, "
            "signer_title = EXCLUDED.signer_title, on_behalf_of = EXCLUDED.on_behalf_of, "
            "rendered_at = EXCLUDED.rendered_at WHERE documents.issued_position IS NULL",
            doc.doc_id,
            job.request_id,
            job.round,
            job.kind,
            doc.stream,
            sequence,
            number,
            sha256,
            stored,
            doc.issued_on,
            doc.holder.nip,
            doc.holder.name,
            doc.signer.nip,
            doc.signer.name,
            doc.signer.title,
            doc.signer.on_behalf_of,
            doc.context.region,
            doc.context.opd_code,
            self.clock.now(),
            sealed,
        )

    # -- revoking --------------------------------------------------------------------------------------

    async def revoke(self, job: Job) -> None:
        issued: Any = await self.pool.fetchrow(
            "SELECT stream_id, payload FROM events WHERE event_id = $1", issued_event_id(job.request_id, job.round)
        )
        if issued is None:
            raise NotYet("surat belum terbit; pencabutan menunggu")
        doc_id = issued["payload"]["document_id"]
        if await self.pool.fetchval("SELECT 1 FROM events WHERE event_id = $1", revoked_event_id(doc_id)):
            return
        approved_facts = (await load_request_facts(self.pool, [job.request_id])).get(job.request_id, [])
        correlation = approved_facts[0].correlation_id if approved_facts else str(job.request_id)
        event = NewEvent.of(
            DocumentRevoked(document_id=doc_id, request_id=job.request_id, reason=REVOKED_REASON),
            event_id=revoked_event_id(doc_id),
            stream_id=f"document-{doc_id}",
            occurred_at=self.clock.now(),
            actor=SYSTEM_ACTOR,
            correlation_id=correlation,
            causation_id=str(job.event_id),
            clock=self.clock.mode,
        )
        await self.store.append(AppendUnit([event]))
        log.info("letter_revoked", request_id=str(job.request_id), doc=doc_id[:6])
