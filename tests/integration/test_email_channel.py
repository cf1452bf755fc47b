"""E-mail over kept-open SMTP connections, against a real SMTP server on loopback."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from deploy.mail_sink import MaildirWriter
from deploy.processes import free_port
from services.notifications.channels import DeliveryError, EmailChannel, OutgoingMail, SmtpConfig

pytestmark = pytest.mark.integration


class CountingWriter(MaildirWriter):
    """Files messages like the demo sink and counts the SMTP sessions that greeted it."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses


def mail(n: int) -> OutgoingMail:
    return OutgoingMail(
        message_id=f"m-{n}",
        to_name="Putri Teguh",
        to_address="199505042021012163@demo.lentur.invalid",
        subject=f"Pengajuan {n} disetujui",
        text=f"Pesan ke-{n}",
        date=datetime(2025, 12, 22, 1, 0, tzinfo=UTC),
        headers={"X-Lentur-Kind": "request_approved"},
    )


def received(directory: Path) -> list[str]:
    return sorted(str(email.message_from_bytes(p.read_bytes())["Subject"]) for p in directory.glob("*.eml"))


async def test_mails_share_one_connection_and_a_dropped_one_is_replaced(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    writer = CountingWriter(tmp_path / "mail")
    server = Controller(writer, hostname="127.0.0.1", port=port)
    server.start()
    channel = EmailChannel(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}"), "Lentur <noreply@lentur.invalid>")
    try:
        for n in (1, 2, 3):
            await channel.send(mail(n))
        assert writer.sessions == 1
        # The server goes away and comes back: the idle connection is dead, the next mail still goes out.
        server.stop()
        server = Controller(writer, hostname="127.0.0.1", port=port)
        server.start()
        await channel.send(mail(4))
        assert writer.sessions == 2
        assert received(tmp_path / "mail") == [f"Pengajuan {n} disetujui" for n in (1, 2, 3, 4)]
    finally:
        await channel.close()
        server.stop()
    # With no server at all, the failure is the delivery's to retry.
    with pytest.raises(DeliveryError):
        await channel.send(mail(5))
