"""In-app notifications, preferences, and the admin's view of deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from contracts.common import Role
from contracts.events import NotificationPreferencesSet
from eventstore.store import AppendUnit, NewEvent
from services.kernel.deps import ContainerDep, PrincipalDep, require_any
from services.kernel.problems import Problem
from services.kernel.readmodels import local_time
from services.kernel.regions import region_display
from services.notifications.projection import Preferences, default_preferences
from services.notifications.recipients import Contact

router = APIRouter(tags=["notifications"])
NOTIFIER = "notifier"


class NotificationOut(BaseModel):
    id: UUID
    kind: str
    title: str
    body: str
    link: str | None
    request_id: UUID | None
    created_at: datetime
    created_at_local: str | None
    read: bool
    read_at: datetime | None


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: bool = True
    webhook: bool = False
    digest: bool = False


class PreferencesOut(PreferencesIn):
    model_config = ConfigDict(extra="ignore")
    email_address: str | None = None
    phone: str | None = None


class DeliveryOut(BaseModel):
    id: UUID
    notification_id: UUID
    recipient_nip: str
    recipient_name: str | None
    channel: str
    kind: str
    title: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


class DeliveryListOut(BaseModel):
    counts: dict[str, dict[str, int]]
    items: list[DeliveryOut]


@router.get("/api/notifications", response_model=list[NotificationOut])
async def my_notifications(
    response: Response,
    c: ContainerDep,
    me: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    unread_only: Annotated[bool, Query(alias="unread")] = False,
) -> list[NotificationOut]:
    """The caller's notifications, newest first, each with its read mark; the unread total is a header."""
    rows = await c.pool.fetch(
        "SELECT * FROM notifications WHERE recipient_nip = $1 AND ($3::bool IS FALSE OR read_at IS NULL) "
        "ORDER BY created_at DESC, position DESC, id LIMIT $2",
        me.nip,
        limit,
        unread_only,
    )
    unread = await c.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE recipient_nip = $1 AND read_at IS NULL", me.nip
    )
    response.headers["X-Unread-Count"] = str(unread)
    zone = region_display(me.region).timezone
    return [
        NotificationOut(
            id=r["id"],
            kind=r["kind"],
            title=r["title"],
            body=r["body"],
            link=r["link"],
            request_id=r["request_id"],
            created_at=r["created_at"],
            created_at_local=local_time(r["created_at"], zone),
            read=r["read_at"] is not None,
            read_at=r["read_at"],
        )
        for r in rows
    ]


# Read marks are the reader's own bookkeeping on a delivered message, not a fact about any request, so
# they are kept on the row rather than recorded as events.
@router.post("/api/notifications/{notification_id}/read", status_code=204)
async def mark_read(notification_id: UUID, c: ContainerDep, me: PrincipalDep) -> Response:
    done = await c.pool.fetchval(
        "UPDATE notifications SET read_at = coalesce(read_at, $3) WHERE id = $1 AND recipient_nip = $2 RETURNING id",
        notification_id,
        me.nip,
        c.clock.now(),
    )
    if done is None:
        raise Problem(404, "notification_not_found", "Pemberitahuan tidak ditemukan.")
    return Response(status_code=204)


@router.post("/api/notifications/read-all", status_code=204)
async def mark_all_read(c: ContainerDep, me: PrincipalDep) -> Response:
    await c.pool.execute(
        "UPDATE notifications SET read_at = $2 WHERE recipient_nip = $1 AND read_at IS NULL", me.nip, c.clock.now()
    )
    return Response(status_code=204)


def _contact(me: PrincipalDep) -> Contact:
    p = me.person
    return Contact(
        p.nip, p.name, p.region, p.opd_code, p.opd_name, p.unit_code, p.unit_name, email=p.email, phone=p.phone
    )


@router.get("/api/notifications/preferences", response_model=PreferencesOut)
async def get_preferences(c: ContainerDep, me: PrincipalDep) -> PreferencesOut:
    row = await c.pool.fetchrow("SELECT * FROM notification_preferences WHERE nip = $1", me.nip)
    prefs = (
        default_preferences(_contact(me))
        if row is None
        else Preferences(email=row["email"], webhook=row["webhook"], digest=row["digest"])
    )
    fallback = c.settings.mail_fallback_domain
    return PreferencesOut(
        email=prefs.email,
        webhook=prefs.webhook,
        digest=prefs.digest,
        email_address=me.person.email or (f"{me.nip}@{fallback}" if fallback else None),
        phone=me.person.phone,
    )


@router.put("/api/notifications/preferences", response_model=PreferencesOut)
async def set_preferences(body: PreferencesIn, c: ContainerDep, me: PrincipalDep) -> PreferencesOut:
    correlation = structlog.contextvars.get_contextvars().get("correlation_id") or uuid.uuid4().hex
    payload = NotificationPreferencesSet(nip=me.nip, email=body.email, webhook=body.webhook, digest=body.digest)
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=f"notification-preferences-{me.nip}",
        occurred_at=c.clock.now(),
        actor=me.nip,
        correlation_id=str(correlation),
        clock=c.clock.mode,
    )
    appended = await c.store.append(AppendUnit([event]))
    if not await c.waiter.wait_for(
        appended[-1].position, name=NOTIFIER, timeout=c.settings.read_your_writes_timeout_seconds
    ):
        raise Problem(504, "projection_lagging", "Pilihan tersimpan, tetapi belum berlaku; coba lagi sebentar.")
    return await get_preferences(c, me)


# -- admin ------------------------------------------------------------------------------------------------

Status = Literal["pending", "sending", "retry", "sent", "failed", "skipped", "problems"]


@router.get("/api/admin/notifications", response_model=DeliveryListOut)
async def deliveries(
    c: ContainerDep,
    me: PrincipalDep,
    status: Annotated[Status, Query()] = "problems",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryListOut:
    """Deliveries in the admin's region: counts per channel and status, and the rows asked for."""
    require_any(me, Role.ADMIN)
    statuses = ["retry", "failed"] if status == "problems" else [status]
    counts: dict[str, dict[str, int]] = {}
    for r in await c.pool.fetch(
        "SELECT channel, status, count(*) AS n FROM notification_deliveries WHERE region = $1 GROUP BY channel, status",
        me.region,
    ):
        counts.setdefault(r["channel"], {})[r["status"]] = int(r["n"])
    rows = await c.pool.fetch(
        "SELECT d.*, n.kind, n.title, p.name AS recipient_name FROM notification_deliveries d "
        "JOIN notifications n ON n.id = d.notification_id LEFT JOIN rm_people p ON p.nip = d.recipient_nip "
        "WHERE d.region = $1 AND d.status = ANY($2::text[]) ORDER BY d.created_at DESC, d.id LIMIT $3",
        me.region,
        statuses,
        limit,
    )
    return DeliveryListOut(
        counts=counts,
        items=[
            DeliveryOut(
                id=r["id"],
                notification_id=r["notification_id"],
                recipient_nip=r["recipient_nip"],
                recipient_name=r["recipient_name"],
                channel=r["channel"],
                kind=r["kind"],
                title=r["title"],
                status=r["status"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                next_attempt_at=r["next_attempt_at"] if r["status"] in ("pending", "retry") else None,
                created_at=r["created_at"],
                sent_at=r["sent_at"],
            )
            for r in rows
        ],
    )


@router.post("/api/admin/notifications/{delivery_id}/retry", status_code=202)
async def retry_delivery(delivery_id: UUID, c: ContainerDep, me: PrincipalDep) -> dict[str, str]:
    """Put a failed delivery back in the queue (after the mail server or gateway is fixed)."""
    require_any(me, Role.ADMIN)
    done = await c.pool.fetchval(
        "UPDATE notification_deliveries SET status = 'retry', attempts = 0, next_attempt_at = $3, last_error = NULL "
        "WHERE id = $1 AND region = $2 AND status IN ('failed', 'retry') RETURNING id",
        delivery_id,
        me.region,
        c.clock.now(),
    )
    if done is None:
        raise Problem(404, "delivery_not_found", "Pengiriman gagal dengan id ini tidak ditemukan di wilayah Anda.")
    return {"status": "queued"}
