"""The notifier: a projection whose effect is "who must be told", recorded exactly once per event.

Notification and delivery rows are keyed by the event and written in the runner's transaction, together with
its checkpoint; a redelivered or replayed event therefore finds its rows already there and adds nothing.
Sending happens later, from the delivery outbox (`dispatcher.py`), so a dead mail server never holds up a
decision or this projection.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from contracts.events import EventEnvelope
from services.notifications.context import RequestContext, fold_request, load_request_facts
from services.notifications.messages import compose, zone_of
from services.notifications.metrics import NOTIFICATIONS_RECORDED
from services.notifications.recipients import (
    DIGEST_KINDS,
    MAIL_KINDS,
    NOTIFIED_TYPES,
    Contact,
    Delegation,
    DirectoryView,
    Notice,
    recipients_for,
)

log = structlog.get_logger(__name__)
NOTIFICATION_NAMESPACE = UUID("3d0c7f52-6b1e-4a8f-9c2d-5e4f3a2b1c0d")
PREFERENCES_EVENT = "NotificationPreferencesSet"


@dataclass(frozen=True)
class NotifierConfig:
    base_url: str
    fallback_domain: str | None = None
    email_enabled: bool = True
    webhook_enabled: bool = False
    digest_hour: int = 7


@dataclass(frozen=True)
class Preferences:
    email: bool = True
    webhook: bool = False
    digest: bool = False


def default_preferences(person: Contact | None) -> Preferences:
    return Preferences(email=True, webhook=bool(person and person.phone), digest=False)


def email_address(person: Contact | None, nip: str, fallback_domain: str | None) -> str | None:
    if person is not None and person.email:
        return person.email
    return f"{nip}@{fallback_domain}" if fallback_domain else None


def next_digest_at(after: datetime, zone: str, hour: int) -> datetime:
    """The next `hour`:00 on the recipient's wall clock strictly after `after`."""
    local = after.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def notification_id(event_id: UUID, recipient: str, kind: str) -> UUID:
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{event_id}|{recipient}|{kind}")


def delivery_id(notification: UUID, channel: str) -> UUID:
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{notification}|{channel}")


def contact_from_row(row: asyncpg.Record) -> Contact:
    return Contact(
        nip=row["nip"],
        name=row["name"],
        region=row["region"],
        opd_code=row["opd_code"],
        opd_name=row["opd_name"],
        unit_code=row["unit_code"],
        unit_name=row["unit_name"],
        roles=tuple(row["roles"]),
        acting_for=row["acting_for"],
        email=row["email"],
        phone=row["phone"],
    )


def _mentioned(events: list[EventEnvelope], contexts: list[RequestContext]) -> set[str]:
    nips: set[str] = set()
    for event in events:
        for key in ("assignee_nip", "from_nip", "to_nip", "requester_nip", "superior_nip", "nip"):
            if isinstance(event.payload.get(key), str):
                nips.add(event.payload[key])
    for context in contexts:
        nips.add(context.requester_nip)
        nips.update(t.assignee_nip for t in context.tasks.values())
    return nips


async def load_directory_view(conn: Any, events: list[EventEnvelope], contexts: list[RequestContext]) -> DirectoryView:
    nips = sorted(_mentioned(events, contexts))
    # One read for the people named and the unit heads of the requests' units (who hear of a member's leave).
    rows = await conn.fetch(
        "SELECT * FROM rm_people WHERE nip = ANY($1::text[]) OR acting_for = ANY($1) "
        "OR ('unit_head' = ANY(roles) AND region = ANY($2::text[]) AND unit_code = ANY($3::text[]))",
        nips,
        sorted({c.region for c in contexts}),
        sorted({c.unit_code for c in contexts}),
    )
    view = DirectoryView(people={r["nip"]: contact_from_row(r) for r in rows})
    for r in await conn.fetch("SELECT * FROM rm_delegations WHERE holder_nip = ANY($1::text[]) AND NOT revoked", nips):
        view.delegations.append(
            Delegation(r["holder_nip"], r["delegate_nip"], tuple(r["tiers"]), r["valid_from"], r["valid_to"])
        )
    return view


async def start_at_head(pool: Any, name: str) -> None:
    """A projection whose effects reach people starts from the present the first time it runs: deploying it
    onto a store with months of history must not mail everyone about every old task."""
    await pool.execute(
        "INSERT INTO projection_checkpoints (name, position) "
        "SELECT $1, coalesce(max(position), 0) FROM events ON CONFLICT DO NOTHING",
        name,
    )


class NotifierProjection:
    name = "notifier"
    consumes = NOTIFIED_TYPES | {PREFERENCES_EVENT}

    def __init__(self, config: NotifierConfig) -> None:
        self.config = config

    async def apply_batch(self, conn: Any, events: list[EventEnvelope]) -> None:
        relevant = [e for e in events if e.type in self.consumes]
        if not relevant:
            return
        request_ids = sorted({UUID(str(e.payload["request_id"])) for e in relevant if e.payload.get("request_id")})
        facts = await load_request_facts(conn, request_ids)
        latest = [c for c in (fold_request(f) for f in facts.values()) if c is not None]
        view = await load_directory_view(conn, relevant, latest)
        preferences = {
            r["nip"]: Preferences(email=r["email"], webhook=r["webhook"], digest=r["digest"])
            for r in await conn.fetch(
                "SELECT * FROM notification_preferences WHERE nip = ANY($1::text[])", sorted(view.people)
            )
        }
        notifications: list[tuple[Any, ...]] = []
        deliveries: list[tuple[Any, ...]] = []
        for event in relevant:
            if event.type == PREFERENCES_EVENT:
                p = event.payload
                preferences[p["nip"]] = Preferences(email=p["email"], webhook=p["webhook"], digest=p["digest"])
                await conn.execute(
                    "INSERT INTO notification_preferences (nip, email, webhook, digest, position) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nip) DO UPDATE SET email = EXCLUDED.email, "
                    "webhook = EXCLUDED.webhook, digest = EXCLUDED.digest, position = EXCLUDED.position",
                    p["nip"],
                    p["email"],
                    p["webhook"],
                    p["digest"],
                    event.position,
                )
                continue
            request_id = UUID(str(event.payload["request_id"])) if event.payload.get("request_id") else None
            context = fold_request(facts.get(request_id, []), up_to_position=event.position) if request_id else None
            for notice in recipients_for(event, context, view):
                row, channels = self._record(event, context, view, notice, preferences)
                notifications.append(row)
                deliveries.extend(channels)
        if notifications:
            # One statement per batch: a column array each, unnested into rows.
            await conn.execute(
                "INSERT INTO notifications (id, event_id, position, recipient_nip, region, kind, request_id, task_id, "
                "title, body, link, created_at) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], "
                "$4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], "
                "$12::timestamptz[]) ON CONFLICT DO NOTHING",
                *(list(column) for column in zip(*notifications, strict=True)),
            )
        if deliveries:
            await conn.execute(
                "INSERT INTO notification_deliveries (id, notification_id, recipient_nip, region, channel, address, "
                "digest, next_attempt_at, created_at) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], "
                "$4::text[], $5::text[], $6::text[], $7::boolean[], $8::timestamptz[], $9::timestamptz[]) "
                "ON CONFLICT DO NOTHING",
                *(list(column) for column in zip(*deliveries, strict=True)),
            )
        for row in notifications:
            NOTIFICATIONS_RECORDED.labels(row[5]).inc()

    def _record(
        self,
        event: EventEnvelope,
        context: RequestContext | None,
        view: DirectoryView,
        notice: Notice,
        preferences: dict[str, Preferences],
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        message = compose(notice, event, context, view, self.config.base_url)
        person = view.people.get(notice.recipient)
        region = person.region if person else (context.region if context else None)
        nid = notification_id(event.event_id, notice.recipient, notice.kind)
        request_id = UUID(str(event.payload["request_id"])) if event.payload.get("request_id") else None
        task_id = event.payload.get("task_id") if notice.kind.startswith("task_") else None
        row = (
            nid,
            event.event_id,
            event.position,
            notice.recipient,
            region,
            notice.kind,
            request_id,
            task_id,
            message.title,
            message.body,
            message.link,
            event.occurred_at,
        )
        channels: list[tuple[Any, ...]] = []
        if notice.kind not in MAIL_KINDS:
            return row, channels
        prefs = preferences.get(notice.recipient) or default_preferences(person)
        address = email_address(person, notice.recipient, self.config.fallback_domain)
        if self.config.email_enabled and prefs.email and address:
            digest = prefs.digest and notice.kind in DIGEST_KINDS
            due = (
                next_digest_at(event.occurred_at, zone_of(notice.recipient, view, context), self.config.digest_hour)
                if digest
                else event.occurred_at
            )
            channels.append(
                (
                    delivery_id(nid, "email"),
                    nid,
                    notice.recipient,
                    region,
                    "email",
                    address,
                    digest,
                    due,
                    event.occurred_at,
                )
            )
        if self.config.webhook_enabled and prefs.webhook:
            phone = person.phone if person else None
            channels.append(
                (
                    delivery_id(nid, "webhook"),
                    nid,
                    notice.recipient,
                    region,
                    "webhook",
                    phone,
                    False,
                    event.occurred_at,
                    event.occurred_at,
                )
            )
        return row, channels
