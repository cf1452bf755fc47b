"""Who may read the audit log, the record of every read, and the inspector's search over the index."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from contracts.events import AuditAccessed
from contracts.zones import OFFSET_HOURS
from eventstore.store import AppendUnit, NewEvent
from services.audit.replay import parse_time
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.problems import Problem


def access_stream(nip: str) -> str:
    return f"audit-access-{nip}"


def require_auditor(me: Principal) -> None:
    if not (me.is_inspector or me.is_admin):
        raise Problem(403, "forbidden", "Hanya inspektur atau admin yang dapat membaca log audit.")


async def record_access(
    c: Container,
    me: Principal,
    access: str,
    *,
    request_id: UUID | None = None,
    query: dict[str, Any] | None = None,
    results: int = 0,
) -> int:
    """Append the read to the log (the reader's own stream); returns its position."""
    payload = AuditAccessed(
        access=access,
        region=me.region,
        request_id=request_id,
        query={k: str(v) for k, v in (query or {}).items() if v is not None},
        results=results,
    )
    event_id = uuid.uuid4()
    correlation = structlog.contextvars.get_contextvars().get("correlation_id") or str(event_id)
    appended = await c.store.append(
        AppendUnit(
            [
                NewEvent.of(
                    payload,
                    event_id=event_id,
                    stream_id=access_stream(me.nip),
                    occurred_at=c.clock.now(),
                    actor=me.nip,
                    correlation_id=str(correlation),
                    clock=c.clock.mode,
                )
            ]
        )
    )
    return appended[0].position


async def region_zone(pool: asyncpg.Pool, region: str | None) -> str:
    """The region's IANA zone as its requests were routed in (without a region, the zone most requests
    were routed in); WIB until there are any."""
    zone = await pool.fetchval(
        "SELECT timezone FROM rm_requests WHERE ($1::text IS NULL OR region = $1) AND timezone IS NOT NULL "
        "GROUP BY timezone ORDER BY count(*) DESC, timezone LIMIT 1",
        region,
    )
    return str(zone) if zone in OFFSET_HOURS else "Asia/Jakarta"


def parse_moment(value: str, zone: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date (a whole local day) or time (local to the region when it carries no offset)."""
    try:
        return parse_time(value, zone=zone, end_of_day=end_of_day)
    except ValueError as exc:
        raise Problem(
            422, "invalid_time", f"Waktu tidak dikenali: {value!r} (gunakan YYYY-MM-DD atau ISO 8601)."
        ) from exc


async def search_index(
    pool: asyncpg.Pool,
    *,
    region: str,
    nip: str | None = None,
    opd: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    event_type: str | None = None,
    request_id: UUID | None = None,
    after: int = 0,
    limit: int = 200,
) -> list[asyncpg.Record]:
    """Index rows of one region, oldest first; `nip` matches the person concerned, the actor or the
    official acted for."""
    return list(
        await pool.fetch(
            "SELECT i.*, r.timezone FROM rm_audit_index i LEFT JOIN rm_requests r USING (request_id) "
            "WHERE i.region = $1 AND i.position > $2 "
            "AND ($3::text IS NULL OR i.subject_nip = $3 OR i.actor = $3 OR i.on_behalf_of = $3) "
            "AND ($4::text IS NULL OR i.opd_code = $4) "
            "AND ($5::timestamptz IS NULL OR i.occurred_at >= $5) "
            "AND ($6::timestamptz IS NULL OR i.occurred_at <= $6) "
            "AND ($7::text IS NULL OR i.type = $7) "
            "AND ($8::uuid IS NULL OR i.request_id = $8) "
            "ORDER BY i.position LIMIT $9",
            region,
            after,
            nip,
            opd,
            start,
            end,
            event_type,
            request_id,
            limit,
        )
    )
