"""Letter numbers under real contention: many issuers, two connection pools, one OPD's letters stream."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest

from contracts.common import Citation, DecisionKind, RequestKind, Tier
from contracts.evaluation import RouteStep
from contracts.events import DecisionRecorded, RequestApproved, RequestSubmitted, RouteDetermined, request_stream
from eventstore.db import create_pool
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from runtime.clock import Clock
from services.documents.issuer import Job, LetterIssuer, issued_event_id

pytestmark = pytest.mark.integration

APPROVED_AT = datetime(2025, 12, 22, 2, 0, tzinfo=UTC)
CITE = Citation(pack_id="t", pack_version="1", rule_id="r", source="SE", clause="berjenjang")


async def approved_request(store: PostgresEventStore, n: int) -> Job:
    request_id = uuid.uuid4()
    stream = request_stream(request_id)
    nip = f"19900101201501{n % 2 + 1}{n:03d}"

    def event(payload: object, actor: str = "system") -> NewEvent:
        return NewEvent.of(
            payload,  # type: ignore[arg-type]
            event_id=uuid.uuid4(),
            stream_id=stream,
            occurred_at=APPROVED_AT,
            actor=actor,
            correlation_id=str(request_id),
        )

    events = [
        event(
            RequestSubmitted(
                request_id=request_id,
                requester_nip=nip,
                requester_name=f"Pegawai {n}",
                region="kendari",
                opd_code="DPMPTSP",
                unit_code="DPMPTSP-U1",
                kind=RequestKind.CUTI_SAKIT,
                dates=[date(2026, 1, 5)],
                body_sha256="x",
            ),
            nip,
        ),
        event(
            RouteDetermined(
                request_id=request_id,
                timezone="Asia/Makassar",
                route=[
                    RouteStep(tier=Tier.OPD_HEAD, approver_nip="198109082006102170", approver_name="W", citation=CITE)
                ],
                working_days=1,
            )
        ),
        event(
            DecisionRecorded(
                task_id=f"{request_id}-r1s0",
                request_id=request_id,
                round=1,
                step=0,
                tier=Tier.OPD_HEAD,
                decision=DecisionKind.APPROVE,
            ),
            "198109082006102170",
        ),
        event(RequestApproved(request_id=request_id, round=1, final_tier=Tier.OPD_HEAD)),
    ]
    appended = await store.append(AppendUnit(events, {stream: 0}))
    return Job(
        job_id=f"issue:{request_id}:1",
        action="issue",
        request_id=request_id,
        round=1,
        kind="surat_izin_cuti_sakit",
        event_id=events[-1].event_id,
        position=appended[-1].position,
        attempts=1,
    )


async def test_concurrent_issuers_take_consecutive_numbers_and_a_retry_issues_nothing(
    store: PostgresEventStore, fresh_db: str
) -> None:
    jobs = [await approved_request(store, n) for n in range(40)]
    other_pool = await create_pool(fresh_db, min_size=1, max_size=10)
    try:
        clock = Clock()
        issuers = [
            LetterIssuer(store.pool, store, clock, base_url="https://lentur.example"),
            LetterIssuer(other_pool, PostgresEventStore(other_pool), clock, base_url="https://lentur.example"),
        ]
        await asyncio.gather(*(issuers[i % 2].issue(job) for i, job in enumerate(jobs)))
        stream = "letters-kendari-DPMPTSP-2025"
        issued = await store.read_stream(stream)
        assert [e.version for e in issued] == list(range(1, 41))
        assert [e.payload["number"] for e in issued] == [f"800/{n}/DPMPTSP/XII/2025" for n in range(1, 41)]
        rows = await store.pool.fetch("SELECT doc_id, sequence, number FROM documents ORDER BY sequence")
        by_doc = {e.payload["document_id"]: e for e in issued}
        assert len(rows) == 40 and all(by_doc[r["doc_id"]].version == r["sequence"] for r in rows)

        # A job retried after a crash (its event already stored) issues nothing new.
        await issuers[1].issue(jobs[7])
        assert await store.stream_version(stream) == 40
        assert {e.event_id for e in issued} == {issued_event_id(j.request_id, 1) for j in jobs}
    finally:
        await other_pool.close()
