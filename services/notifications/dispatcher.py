"""The delivery loop: works the notification outbox, one claimed batch at a time.

Rows are claimed with a lease (so a crashed sender's rows are picked up again) and sent outside any
transaction. A failure is retried with exponential backoff up to a bound, then left as `failed` for the
admin to see and retry. An approver who chose the daily digest gets one mail listing the tasks still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from eventstore.projector import PROJECTION_CHANNEL
from runtime.clock import Clock
from services.notifications.channels import DeliveryError, EmailChannel, OutgoingMail, WebhookChannel
from services.notifications.messages import digest_text, email_text
from services.notifications.metrics import DELIVERY_ATTEMPTS, OUTBOX

log = structlog.get_logger(__name__)
CHANNELS = ("email", "webhook")
# A delivery is pending, sending, retry, sent, failed or skipped; the outbox gauge counts those not yet sent or
# given up on (the partial index notification_deliveries_outbox covers exactly these).
OUTBOX_STATUSES = ("pending", "sending", "retry", "failed")
DIGEST_NAMESPACE = uuid.UUID("9a4e2b7c-1d3f-4e5a-8b6c-7d8e9f0a1b2c")
DIGEST_CHECK_EVERY = timedelta(minutes=1)
_DUE = "((status IN ('pending', 'retry') AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1))"


def _claim(due: str) -> str:
    """One statement: lease the deliveries `due` selects (ids, FOR UPDATE SKIP LOCKED) and read them with what
    their message needs. Parameters: $1 now, $3 the lease; `due` may use $2."""
    return (
        f"WITH due AS ({due}), "
        "claimed AS (UPDATE notification_deliveries d SET status = 'sending', lease_until = $1 + $3::interval, "
        "attempts = d.attempts + 1 FROM due WHERE d.id = due.id RETURNING d.*) "
        "SELECT d.*, n.kind, n.title, n.body, n.link, n.request_id, n.task_id, n.event_id, "
        "n.created_at AS noted_at, p.name AS recipient_name FROM claimed d "
        "JOIN notifications n ON n.id = d.notification_id LEFT JOIN rm_people p ON p.nip = d.recipient_nip "
        "ORDER BY n.position, d.id"
    )


# $2: how many at most
_CLAIM_DUE = _claim(
    f"SELECT id FROM notification_deliveries WHERE NOT digest AND {_DUE} "
    "ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
)
# The statuses as literals, not a parameter: only then can the planner match the partial index's predicate.
_OUTBOX_COUNTS = (
    "SELECT channel, status, count(*) AS n FROM notification_deliveries "
    f"WHERE status IN ({', '.join(repr(s) for s in OUTBOX_STATUSES)}) GROUP BY channel, status"
)
# $2: how many recipients at most
_DIGEST_RECIPIENTS = f"SELECT DISTINCT recipient_nip FROM notification_deliveries WHERE digest AND {_DUE} LIMIT $2"
# $2: the recipient whose digest it is
_CLAIM_DIGEST = _claim(
    f"SELECT id FROM notification_deliveries WHERE digest AND recipient_nip = $2 AND {_DUE} FOR UPDATE SKIP LOCKED"
)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> timedelta:
        """Exponential, capped, with a little jitter so a recovering gateway is not hit all at once."""
        seconds = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=seconds * random.uniform(0.85, 1.0))


class NotificationDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        dsn: str | None = None,
        email: EmailChannel | None = None,
        webhook: WebhookChannel | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=2),
        concurrency: int = 8,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.dsn = dsn
        self.email = email
        self.webhook = webhook
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.lease = lease
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self.passes = 0
        # Digests fall due at an hour, not on an event: looked for at most once a DIGEST_CHECK_EVERY (and again at
        # once while they keep turning up), instead of on every wake-up after each notification.
        self._next_digest_check: datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    worked = await self.run_once()
                    if self.passes % 20 == 0:
                        await self.refresh_gauges()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("notification_pass_failed", error=str(exc))
                    worked = 0
                if worked < self.batch_size and self._next_digest_check is not None:
                    # Everything due was claimed (and no digest went out): rows committed since have set the wake
                    # already (the pass cleared it first), so the next pass waits for them instead of claiming
                    # nothing at once.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 1.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if self.webhook is not None:
                await self.webhook.close()
            if self.email is not None:
                await self.email.close()

    async def _listen(self) -> None:
        """Wake as soon as the notifier commits new rows, instead of waiting for the next poll."""
        if self.dsn is None:
            return
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(
                        PROJECTION_CHANNEL, lambda *args: self.wake() if str(args[-1]).startswith("notifier:") else None
                    )
                    while not conn.is_closed():
                        await asyncio.sleep(5.0)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notification_listener_retry", error=str(exc))
                await asyncio.sleep(2.0)

    # -- one pass --------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        self.passes += 1
        now = self.clock.now()
        worked = 0
        rows = await self.pool.fetch(_CLAIM_DUE, now, self.batch_size, self.lease)
        if rows:
            delivered = await asyncio.gather(*(self._deliver_one(row) for row in rows))
            sent = [row for row, ok in zip(rows, delivered, strict=True) if ok]
            if sent:
                await self._sent(sent)  # one statement for the pass, not one per message
            worked += len(rows)
        if self._next_digest_check is None or now >= self._next_digest_check:
            digests = await self._digests(now)
            self._next_digest_check = None if digests else now + DIGEST_CHECK_EVERY
            worked += digests
        return worked

    async def _deliver_one(self, row: asyncpg.Record) -> bool:
        """Send one delivery; True when it went out (the caller records that), False when its failure is
        recorded for a retry."""
        async with self._limit:
            try:
                if row["channel"] == "email":
                    await self._send_mail(row)
                elif row["channel"] == "webhook":
                    await self._send_webhook(row)
                else:
                    raise DeliveryError(f"unknown channel {row['channel']}")
            except DeliveryError as exc:
                await self._failed([row], str(exc))
                return False
            except Exception as exc:  # a bug must not kill the loop; it is recorded on the row
                log.error("notification_delivery_crashed", delivery=str(row["id"]), error=repr(exc))
                await self._failed([row], repr(exc))
                return False
            return True

    async def _send_mail(self, row: asyncpg.Record) -> None:
        if self.email is None:
            raise DeliveryError("saluran e-mail belum dikonfigurasi (LENTUR_SMTP_URL)")
        name = row["recipient_name"] or row["recipient_nip"]
        await self.email.send(
            OutgoingMail(
                message_id=str(row["id"]),
                to_name=name,
                to_address=row["address"],
                subject=f"[Lentur] {row['title']}",
                text=email_text(name, row["title"], row["body"], row["link"]),
                date=row["noted_at"],
                headers=_headers(row),
            )
        )

    async def _send_webhook(self, row: asyncpg.Record) -> None:
        if self.webhook is None:
            raise DeliveryError("saluran webhook belum dikonfigurasi (LENTUR_NOTIFY_WEBHOOK_URL)")
        await self.webhook.send(
            str(row["id"]),
            {
                "id": str(row["id"]),
                "notification_id": str(row["notification_id"]),
                "kind": row["kind"],
                "recipient": {"nip": row["recipient_nip"], "name": row["recipient_name"], "phone": row["address"]},
                "title": row["title"],
                "text": "\n".join(filter(None, [row["title"], row["body"], row["link"]])),
                "link": row["link"],
                "request_id": str(row["request_id"]) if row["request_id"] else None,
                "created_at": row["noted_at"],
            },
        )

    # -- digests ---------------------------------------------------------------------------------------

    async def _digests(self, now: datetime) -> int:
        recipients = await self.pool.fetch(_DIGEST_RECIPIENTS, now, self.batch_size)
        worked = 0
        for r in recipients:
            rows = list(await self.pool.fetch(_CLAIM_DIGEST, now, r["recipient_nip"], self.lease))
            if not rows:
                continue
            worked += len(rows)
            await self._send_digest(rows)
        return worked

    async def _send_digest(self, rows: list[asyncpg.Record]) -> None:
        task_ids = [r["task_id"] for r in rows if r["task_id"]]
        open_tasks = {
            t["task_id"]
            for t in await self.pool.fetch(
                "SELECT task_id FROM rm_tasks WHERE task_id = ANY($1::text[]) AND status = 'open'", task_ids
            )
        }
        # A task decided since it was assigned is no longer news; the digest lists what still waits.
        live = [r for r in rows if r["task_id"] is None or r["task_id"] in open_tasks]
        live_ids = {r["id"] for r in live}
        stale = [r for r in rows if r["id"] not in live_ids]
        if stale:
            await self._finish(stale, "skipped", None)
        if not live:
            return
        if self.email is None:
            await self._failed(live, "saluran e-mail belum dikonfigurasi (LENTUR_SMTP_URL)")
            return
        first = live[-1]
        name = first["recipient_name"] or first["recipient_nip"]
        digest_id = uuid.uuid5(DIGEST_NAMESPACE, "|".join(sorted(str(r["id"]) for r in live)))
        try:
            await self.email.send(
                OutgoingMail(
                    message_id=str(digest_id),
                    to_name=name,
                    to_address=first["address"],
                    subject=f"[Lentur] Ringkasan harian: {len(live)} tugas menunggu keputusan Anda",
                    text=digest_text(name, [(r["title"], r["body"], r["link"]) for r in live]),
                    date=self.clock.now(),
                    headers={"X-Lentur-Kind": "digest", "X-Lentur-Recipient": first["recipient_nip"]},
                )
            )
        except DeliveryError as exc:
            await self._failed(live, str(exc))
        else:
            await self._sent(live)

    # -- outcomes --------------------------------------------------------------------------------------

    async def _sent(self, rows: Sequence[asyncpg.Record]) -> None:
        await self._finish(rows, "sent", None)

    async def _finish(self, rows: Sequence[asyncpg.Record], status: str, error: str | None) -> None:
        await self.pool.execute(
            "UPDATE notification_deliveries SET status = $2, "
            "sent_at = CASE WHEN $2::text = 'sent' THEN $3::timestamptz END, lease_until = NULL, "
            "last_error = $4 WHERE id = ANY($1::uuid[])",
            [r["id"] for r in rows],
            status,
            self.clock.now(),
            error,
        )
        for r in rows:
            DELIVERY_ATTEMPTS.labels(r["channel"], status).inc()

    async def _failed(self, rows: Sequence[asyncpg.Record], error: str) -> None:
        now = self.clock.now()
        for r in rows:
            final = r["attempts"] >= self.retry.max_attempts
            status = "failed" if final else "retry"
            await self.pool.execute(
                "UPDATE notification_deliveries SET status = $2, next_attempt_at = $3, lease_until = NULL, "
                "last_error = $4 WHERE id = $1",
                r["id"],
                status,
                now + self.retry.delay(r["attempts"]),
                error[:500],
            )
            DELIVERY_ATTEMPTS.labels(r["channel"], status).inc()
            log.warning(
                "notification_delivery_failed",
                delivery=str(r["id"]),
                channel=r["channel"],
                attempts=r["attempts"],
                final=final,
                error=error[:200],
            )

    async def refresh_gauges(self) -> None:
        """What is still in the outbox or needs someone: a read of the partial index over those statuses only.
        Sent and skipped deliveries are kept for ever; counting them here read the whole table every 20 passes.
        How many went out is the attempts counter's (DELIVERY_ATTEMPTS)."""
        counts = {(r["channel"], r["status"]): r["n"] for r in await self.pool.fetch(_OUTBOX_COUNTS)}
        for channel in CHANNELS:
            for status in OUTBOX_STATUSES:
                OUTBOX.labels(channel, status).set(counts.get((channel, status), 0))


def _headers(row: Any) -> dict[str, str]:
    headers = {
        "X-Lentur-Notification": str(row["notification_id"]),
        "X-Lentur-Kind": row["kind"],
        "X-Lentur-Event": str(row["event_id"]),
        "X-Lentur-Recipient": row["recipient_nip"],
    }
    if row["request_id"]:
        headers["X-Lentur-Request"] = str(row["request_id"])
    return headers
