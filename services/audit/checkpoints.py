"""Signing checkpoints into the log: on demand (inspector, admin, CLI) and periodically (the projector).

Before signing, the events since this key's previous checkpoint are verified, starting from the chain hash
that checkpoint signed: a checkpoint never vouches for a chain that is already broken.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from contracts.canonical import loads
from contracts.events import SYSTEM_ACTOR, CheckpointSigned
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from runtime.clock import Clock
from services.audit.service import verify_store
from services.audit.signing import CheckpointSigner
from services.audit.verify import VerifyReport

log = structlog.get_logger(__name__)

CHECKPOINT_STREAM = "audit-checkpoints"
_SIGNING_LOCK = 7461640


class ChainBroken(Exception):
    def __init__(self, report: VerifyReport) -> None:
        super().__init__(report.reason)
        self.report = report


@dataclass(frozen=True)
class Checkpoint:
    position: int
    up_to_position: int
    chain_hash: str
    key_id: str
    public_key: str
    signature: str
    algorithm: str
    created: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _checkpoint(position: int, payload: dict[str, Any], *, created: bool) -> Checkpoint:
    return Checkpoint(
        position=position,
        up_to_position=int(payload["up_to_position"]),
        chain_hash=payload["chain_hash"],
        key_id=payload["key_id"],
        public_key=payload["public_key"],
        signature=payload["signature"],
        algorithm=payload.get("algorithm", "ed25519"),
        created=created,
    )


async def last_checkpoint(pool: asyncpg.Pool, *, key_id: str | None = None) -> Checkpoint | None:
    if key_id is None:
        row = await pool.fetchrow(
            "SELECT position, payload::text AS payload FROM events WHERE type = 'CheckpointSigned' "
            "ORDER BY position DESC LIMIT 1"
        )
    else:
        row = await pool.fetchrow(
            "SELECT position, payload::text AS payload FROM events WHERE type = 'CheckpointSigned' "
            "AND payload->>'key_id' = $1 ORDER BY position DESC LIMIT 1",
            key_id,
        )
    return _checkpoint(row["position"], loads(row["payload"]), created=False) if row else None


async def sign_checkpoint(
    store: PostgresEventStore,
    signer: CheckpointSigner,
    clock: Clock,
    *,
    actor: str = SYSTEM_ACTOR,
    correlation_id: str | None = None,
) -> Checkpoint | None:
    """Verify what is new since this key's last checkpoint, sign the verified head, append it.

    Returns None for an empty log; the previous checkpoint when nothing happened since. Raises ChainBroken
    (and signs nothing) when verification fails.
    """
    pool = store.pool
    async with pool.acquire() as conn:
        # One signer at a time (several projector replicas, an inspector's request): no duplicate work.
        await conn.execute("SELECT pg_advisory_lock($1)", _SIGNING_LOCK)
        try:
            previous = await last_checkpoint(pool, key_id=signer.key_id)
            after = previous.up_to_position if previous else 0
            report = await verify_store(
                pool,
                after=after,
                after_chain_hash=previous.chain_hash if previous else None,
            )
            if not report.ok:
                log.error(
                    "checkpoint_refused_chain_broken",
                    first_bad_position=report.first_bad_position,
                    reason=report.reason,
                )
                raise ChainBroken(report)
            head = report.head_position
            if head == 0:
                return None
            if previous is not None and head <= previous.position:
                return previous  # nothing but that checkpoint since it was signed
            assert report.head_chain_hash is not None
            signature = signer.sign(head, report.head_chain_hash)
            payload = CheckpointSigned(
                up_to_position=head,
                chain_hash=report.head_chain_hash,
                algorithm="ed25519",
                key_id=signature.key_id,
                public_key=signature.public_key,
                signature=signature.signature,
            )
            event_id = uuid.uuid4()
            appended = await store.append(
                AppendUnit(
                    [
                        NewEvent.of(
                            payload,
                            event_id=event_id,
                            stream_id=CHECKPOINT_STREAM,
                            occurred_at=clock.now(),
                            actor=actor,
                            correlation_id=correlation_id or str(event_id),
                            clock=clock.mode,
                        )
                    ]
                )
            )
            log.info("checkpoint_signed", up_to_position=head, position=appended[0].position, key_id=signer.key_id)
            return _checkpoint(appended[0].position, payload.model_dump(mode="json"), created=True)
        finally:
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", _SIGNING_LOCK)
            except BaseException:
                # Pooled connections are not reset on release: one that may still hold the lock must not be
                # handed to anyone else.
                conn.terminate()
                raise


async def checkpoint_due(pool: asyncpg.Pool, *, every_events: int, interval_seconds: float) -> bool:
    """After `every_events` new events, or once `interval_seconds` have passed since the last checkpoint (or
    since the first event) when anything at all happened since."""
    row = await pool.fetchrow(
        "SELECT position, extract(epoch FROM clock_timestamp() - recorded_at) AS age FROM events "
        "WHERE type = 'CheckpointSigned' ORDER BY position DESC LIMIT 1"
    )
    if row is None:
        row = await pool.fetchrow(
            "SELECT 0 AS position, extract(epoch FROM clock_timestamp() - recorded_at) AS age FROM events "
            "WHERE position = 1"
        )
        if row is None:
            return False
    head = int(await pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))
    since = head - row["position"]
    return since > 0 and (since >= every_events or float(row["age"]) >= interval_seconds)


async def run_checkpoints(
    store: PostgresEventStore,
    signer: CheckpointSigner,
    clock: Clock,
    stop: asyncio.Event,
    *,
    every_events: int,
    interval_seconds: float,
    poll_seconds: float = 5.0,
) -> None:
    """The projector's periodic signer: after `every_events` new events, or `interval_seconds` after the
    last checkpoint when anything at all happened since."""
    poll = max(0.05, min(poll_seconds, interval_seconds))
    while not stop.is_set():
        try:
            if await checkpoint_due(store.pool, every_events=every_events, interval_seconds=interval_seconds):
                await sign_checkpoint(store, signer, clock)
        except ChainBroken:
            pass  # logged; an inspector must look, signing again would not help
        except Exception as exc:
            log.warning("checkpoint_failed", error=str(exc))
        try:
            await asyncio.wait_for(stop.wait(), poll)
        except TimeoutError:
            pass
