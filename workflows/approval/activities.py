"""Everything the approval workflow does to the outside world. Each activity is idempotent."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from eventstore.store import AppendUnit, ConcurrencyError, IdempotencyConflict, NewEvent, PostgresEventStore
from workflows.approval.models import (
    AppendRequest,
    AppendResult,
    EscalationQuery,
    EscalationTarget,
    QuotaRequest,
    QuotaResult,
    derived_event_id,
)

log = structlog.get_logger(__name__)
MAX_QUOTA_ATTEMPTS = 50


def quota_stream(quota: str) -> str:
    return f"quota-{quota}"


class ApprovalActivities:
    def __init__(self, store: PostgresEventStore, pool: asyncpg.Pool) -> None:
        self.store = store
        self.pool = pool

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendRequest) -> AppendResult:
        events = [NewEvent(**draft.model_dump()) for draft in request.events]
        try:
            appended = await self.store.append(AppendUnit(events, dict(request.expected)))
        except IdempotencyConflict:
            earlier = await self._written_by_an_earlier_attempt(events)
            if earlier is None:
                raise
            return earlier
        last = appended[-1]
        return AppendResult(last_position=last.position, last_version=last.version)

    async def _written_by_an_earlier_attempt(self, events: list[NewEvent]) -> AppendResult | None:
        """The result of an earlier attempt of the same workflow task, if these events are what it wrote.

        A worker that dies after this append committed but before its workflow task completed leaves the
        events stored. The retried task derives the same event ids (stream + version; a request's stream has
        one writer, its workflow) from the same inputs, but times taken from the clock — `occurred_at`, a
        task's `remind_at` — are the retried task's own. Those are the same events: answer with what is
        stored, which is what the log says happened. A different stream, type or actor is a real conflict."""
        rows = {
            r["event_id"]: r
            for r in await self.pool.fetch(
                "SELECT event_id, stream_id, type, actor, on_behalf_of, causation_id, position, version FROM events "
                "WHERE event_id = ANY($1::uuid[])",
                [e.event_id for e in events],
            )
        }
        if len(rows) != len(events):
            return None
        for event in events:
            row = rows[event.event_id]
            stored = (row["stream_id"], row["type"], row["actor"], row["on_behalf_of"], row["causation_id"])
            if stored != (event.stream_id, event.type, event.actor, event.on_behalf_of, event.causation_id):
                return None
        last = rows[events[-1].event_id]
        log.warning("append_found_from_an_earlier_attempt", events=len(events), last_position=last["position"])
        return AppendResult(last_position=last["position"], last_version=last["version"])

    @activity.defn(name="apply_quotas")
    async def apply_quotas(self, request: QuotaRequest) -> QuotaResult:
        """Reserve (all-or-nothing), release or consume counted slots with optimistic concurrency."""
        from contracts.events import QuotaConsumed, QuotaReleased, QuotaReserved

        for _attempt in range(MAX_QUOTA_ATTEMPTS):
            events: list[NewEvent] = []
            expected: dict[str, int] = {}
            used = limit = 0
            for claim in request.claims:
                stream = quota_stream(claim.quota)
                event_id = derived_event_id(claim.quota, request.request_id, request.sequence, request.operation)
                if await self.pool.fetchval("SELECT 1 FROM events WHERE event_id = $1", event_id):
                    continue  # this operation already happened (a retry)
                last = await self.store.last_event(stream)
                version = last.version if last else 0
                used = int(last.payload.get("used_after", 0)) if last else 0
                limit = claim.limit
                common = {
                    "event_id": event_id,
                    "stream_id": stream,
                    "occurred_at": request.occurred_at,
                    "actor": request.actor,
                    "correlation_id": request.correlation_id,
                    "causation_id": str(request.request_id),
                    "clock": request.clock,
                }
                if request.operation == "reserve":
                    if used + claim.amount > claim.limit:
                        return QuotaResult(
                            ok=False,
                            refused_quota=claim.quota,
                            refused_citation=claim.citation,
                            used=used,
                            limit=claim.limit,
                        )
                    payload: QuotaReserved | QuotaReleased | QuotaConsumed = QuotaReserved(
                        quota=claim.quota,
                        request_id=request.request_id,
                        amount=claim.amount,
                        used_after=used + claim.amount,
                        limit=claim.limit,
                        citation=claim.citation,
                    )
                elif request.operation == "release":
                    payload = QuotaReleased(
                        quota=claim.quota,
                        request_id=request.request_id,
                        amount=claim.amount,
                        used_after=max(0, used - claim.amount),
                        limit=claim.limit,
                        reason=request.reason,
                    )
                else:
                    payload = QuotaConsumed(quota=claim.quota, request_id=request.request_id, amount=claim.amount)
                events.append(
                    NewEvent(
                        type=payload.TYPE,
                        schema_version=payload.SCHEMA_VERSION,
                        payload=payload.model_dump(mode="json"),
                        policy=request.policy,
                        **common,  # type: ignore[arg-type]
                    )
                )
                expected[stream] = version
            if not events:
                return QuotaResult(ok=True)
            try:
                appended = await self.store.append(AppendUnit(events, expected))
            except ConcurrencyError:
                continue  # someone else moved a quota stream; read again and retry
            return QuotaResult(ok=True, used=used, limit=limit, last_position=appended[-1].position)
        raise RuntimeError(f"quota contention did not settle after {MAX_QUOTA_ATTEMPTS} attempts")

    @activity.defn(name="escalation_target")
    async def escalation_target(self, query: EscalationQuery) -> EscalationTarget | None:
        """Who takes over a stalled task: the holder's Plt/Plh, or the next tier's holder."""
        if query.escalate_to == "next_tier" and query.next_step_nip:
            return None  # the workflow moves the task to the next route step itself
        rows = await self.pool.fetch(
            "SELECT nip FROM rm_people WHERE acting_for = $1 AND region = $2 AND nip <> $3 ORDER BY nip",
            query.assignee_nip,
            query.region,
            query.requester_nip,
        )
        if rows:
            return EscalationTarget(
                to_nip=rows[0]["nip"], to_tier=query.tier, reason="dialihkan ke pelaksana tugas/harian"
            )
        return None
