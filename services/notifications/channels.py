"""The outside channels: e-mail over SMTP and a signed webhook for the pemda's WhatsApp/Telegram gateway."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from contracts.canonical import canonical_json

SIGNATURE_HEADER = "X-Lentur-Signature"


class DeliveryError(Exception):
    """A channel refused or failed; the delivery is retried with backoff."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: str = "none"  # none | starttls | implicit
    timeout: float = 20.0

    @classmethod
    def from_url(
        cls, url: str, *, username: str | None = None, password: str | None = None, timeout: float = 20.0
    ) -> SmtpConfig:
        parts = urlsplit(url)
        tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}.get(parts.scheme)
        if tls is None or not parts.hostname:
            raise ValueError("LENTUR_SMTP_URL must look like smtp://host:port, smtp+starttls://… or smtps://…")
        default_port = {"none": 25, "starttls": 587, "implicit": 465}[tls]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
            tls=tls,
            timeout=timeout,
        )


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str
    to_name: str
    to_address: str
    subject: str
    text: str
    date: datetime
    headers: dict[str, str]


# UTF-8 text bodies in quoted-printable: readable as they are, and safe for relays that are not 8-bit clean.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _header_value(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def build_email(mail: OutgoingMail, sender: str) -> Message:
    """The message in the standard library's compat32 model, whose headers stay strings.

    The default policy parses every header into objects on the way in and folds them again on the way out:
    about a millisecond per message, several times what sending it costs. Non-ASCII names and subjects are
    encoded as RFC 2047 words, the body as UTF-8 quoted-printable; any mail reader parses it the same.
    """
    message = MIMEText(mail.text, "plain", _UTF8)  # type: ignore[arg-type]  # a Charset is accepted too
    message["From"] = _header_value(sender)
    message["To"] = formataddr((mail.to_name, mail.to_address), charset="utf-8")
    message["Subject"] = _header_value(mail.subject)
    message["Date"] = format_datetime(mail.date)
    # Deterministic: a resend after a crash carries the same Message-ID, so mail clients fold the copy.
    message["Message-ID"] = f"<{mail.message_id}@lentur>"
    for name, value in mail.headers.items():
        message[name] = _header_value(value)
    return message


class EmailChannel:
    """SMTP over a few connections kept open between messages.

    A connection per message (TCP, greeting, EHLO, login, QUIT) cost the projector and the relay more than the
    message itself, and a pemda's relay may limit how often a sender connects. A kept connection that the
    server closed while it sat idle is replaced once, for the same message; any other failure closes the
    connection and is the delivery's to retry.
    """

    def __init__(self, config: SmtpConfig, sender: str, *, connections: int = 4) -> None:
        self.config = config
        self.sender = sender
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.username,
            password=self.config.password,
            use_tls=self.config.tls == "implicit",
            start_tls=self.config.tls == "starttls",
            timeout=self.config.timeout,
        )
        await smtp.connect()
        return smtp

    async def send(self, mail: OutgoingMail) -> None:
        message = build_email(mail, self.sender)
        async with self._slots:
            smtp = self._idle.pop() if self._idle else None
            try:
                if smtp is not None:
                    try:
                        await smtp.send_message(message)
                    except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                        smtp.close()
                        smtp = None
                if smtp is None:
                    smtp = await self._connect()
                    await smtp.send_message(message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                if smtp is not None:
                    smtp.close()
                raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc
            self._idle.append(smtp)  # sent: the connection is good for the next message

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await smtp.quit()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    return header is not None and hmac.compare_digest(sign(body, secret), header)


class WebhookChannel:
    """JSON POST signed with HMAC-SHA256 over the exact body bytes."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout)

    def body(self, payload: dict[str, Any]) -> bytes:
        return canonical_json(payload).encode()

    async def send(self, delivery_id: str, payload: dict[str, Any]) -> None:
        body = self.body(payload)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.secret),
            "X-Lentur-Delivery": delivery_id,
        }
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryError(f"webhook: HTTP {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()
