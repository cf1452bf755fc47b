"""Issues the Formulir Permintaan dan Pemberian Cuti of a leave request's decided round.

It gathers the form's data (see `leave_form_sources.py`), renders it, and numbers and records it exactly as
the letters are (`LetterIssuer.append_numbered`): the PDF in `documents`, `DocumentIssued` on the OPD's
`leave-forms-<region>-<opd>-<year>` stream, so its number, SHA-256 and audit position are verifiable at
`/verifikasi/<doc_id>`. The event id is derived from the request and round: a retry never issues twice.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING
from uuid import UUID

import structlog

from contracts.directory import Person
from services.documents.jobs import Job, Numbered, new_document_id, verify_url
from services.documents.leave_form import AnnualRecord, Decision, LeaveForm, form_number, split_considerations
from services.documents.leave_form_render import render_leave_form
from services.documents.leave_form_sources import (
    RecordedDecision,
    employee_from_directory,
    form_record,
    leave_contact,
    other_leave_taken,
    outside_considerations,
    request_events,
    requested_dates,
    round_decisions,
    sealed_personal,
)
from services.documents.letters import post_title
from services.kernel.bahasa import local_date
from services.kernel.privacy import PersonalDataVault
from services.kernel.readmodels import person_from_row
from services.kernel.regions import region_display
from services.leave_record.store import stored_leave_record
from services.notifications.context import RequestContext, StreamFact, fold_request, load_request_facts
from services.packs.registry import PolicyRegistry

if TYPE_CHECKING:
    from services.documents.issuer import LetterIssuer

log = structlog.get_logger(__name__)
FORM_NAMESPACE = UUID("0c6f3d7e-94b1-4f52-8d2a-6e1b7a93c5d4")


def form_event_id(request_id: UUID, round_: int) -> UUID:
    return uuid.uuid5(FORM_NAMESPACE, f"form|{request_id}|{round_}")


def forms_stream(region: str, opd_code: str, year: int) -> str:
    return f"leave-forms-{region}-{opd_code}-{year}"


class FormIssuer:
    def __init__(self, documents: LetterIssuer, vault: PersonalDataVault | None) -> None:
        self.documents = documents
        self.pool = documents.pool
        self.vault = vault
        self.policy = PolicyRegistry(documents.pool)

    async def _cause(self, event_id: UUID) -> StreamFact:
        row = await self.pool.fetchrow(
            "SELECT version, position, event_id, type, payload, actor, on_behalf_of, occurred_at, correlation_id, "
            "policy FROM events WHERE event_id = $1",
            event_id,
        )
        if row is None:
            raise RuntimeError(f"event {event_id} not found")
        return StreamFact(**dict(row))

    async def _signed(self, context: RequestContext, decision: RecordedDecision, zone: str) -> Decision:
        _, signer, _ = await self.documents.parts(context, decision.actor, decision.on_behalf_of, decision.tier)
        return Decision(
            tier=decision.tier,
            decision=decision.decision,
            comment=decision.comment,
            signer=signer,
            decided_on=local_date(decision.occurred_at, zone),
            dates=decision.dates,
            defer_until=decision.defer_until,
        )

    async def _leave_record(self, context: RequestContext, person: Person | None, year: int) -> AnnualRecord | None:
        """Section V: the record GET /api/leave/balance shows, as it stood before this request."""
        if person is None:
            return None
        packs = await self.policy.packs()
        loaded = packs.for_region(context.region) or packs.baseline
        record = await stored_leave_record(self.pool, loaded.pack, person, year, excluding=context.request_id)
        return form_record(record)

    async def _doc_id(self, job: Job) -> str:
        """The id rendered before a crash, if any, so a retry keeps the QR code it already drew."""
        existing = await self.pool.fetchval(
            "SELECT doc_id FROM documents WHERE request_id = $1 AND round = $2 AND kind = $3",
            job.request_id,
            job.round,
            job.kind,
        )
        return str(existing) if existing else new_document_id()

    async def issue(self, job: Job) -> None:
        event_id = form_event_id(job.request_id, job.round)
        if await self.pool.fetchval("SELECT 1 FROM events WHERE event_id = $1", event_id):
            return  # issued before a crash
        facts = (await load_request_facts(self.pool, [job.request_id])).get(job.request_id, [])
        context = fold_request(facts, up_to_position=job.position)
        if context is None:
            raise RuntimeError(f"request {job.request_id} has no submission before position {job.position}")
        cause = await self._cause(job.event_id)
        display = region_display(context.region)
        zone = context.timezone or display.timezone
        events = await request_events(self.pool, job.request_id, job.position)
        decided = [await self._signed(context, d, zone) for d in round_decisions(events, job.round)]
        considerations, decision = split_considerations(decided, [step["tier"] for step in context.route])
        if decision is None and not considerations:
            log.warning("form_without_decision", request_id=str(job.request_id), round=job.round)
            return
        last = decision or considerations[-1]
        # the requester's particulars as the letters describe a holder (the signer part is not used here)
        holder, _, opd_name = await self.documents.parts(context, context.requester_nip, None, last.tier)
        issued_on = local_date(cause.occurred_at, zone)
        dates = requested_dates(events, job.round) or tuple(sorted(context.dates))
        row = (await self.documents.people({context.requester_nip})).get(context.requester_nip)
        requester = person_from_row(row) if row is not None else None
        sealed = sealed_personal(events)
        personal = await self.vault.unseal(sealed) if self.vault is not None else None
        address, phone = leave_contact(personal)
        final_tier = context.route[-1]["tier"] if context.route else last.tier
        doc_id = await self._doc_id(job)
        form = LeaveForm(
            doc_id=doc_id,
            number="",
            issued_on=issued_on,
            region=display,
            opd_name=opd_name,
            employee=employee_from_directory(
                requester,
                nip=context.requester_nip,
                name=context.requester_name,
                position=holder.position,
                unit=f"{holder.unit_name}, {holder.opd_name}",
                on=issued_on,
            ),
            request_kind=context.kind,
            reason=str((personal or {}).get("reason") or ""),
            dates=dates,
            working_days=context.working_days,
            record=await self._leave_record(context, requester, min(dates).year),
            address=address,
            phone=phone,
            considerations=considerations,
            decision=decision,
            addressee=post_title(final_tier, holder.unit_name, holder.opd_name, display),
            verify_url=verify_url(self.documents.base_url, doc_id),
            other_kinds_taken=await other_leave_taken(
                self.pool, context.requester_nip, min(dates).year, job.request_id
            ),
            outside=await outside_considerations(self.pool, job.request_id, job.position),
            extra_days=context.extra_days if context.kind == "CUTI_TAHUNAN" else 0,
        )
        # a form showing personal data is stored sealed under the key of that data, and erased with it
        shows_personal = bool(form.reason or form.address or form.phone)
        sealed_under = str(sealed["kid"]) if shows_personal and sealed else None
        stream = forms_stream(context.region, context.opd_code, issued_on.year)
        numbered = Numbered(job, context, cause, event_id, stream, doc_id, issued_on, holder, last.signer, sealed_under)
        async with self.documents.stream_lock(stream):
            await self.documents.append_numbered(
                numbered,
                lambda sequence: form_number(display, sequence, context.opd_code, issued_on),
                lambda number: render_leave_form(dataclasses.replace(form, number=number)),
            )
