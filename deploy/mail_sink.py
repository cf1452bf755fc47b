"""A real SMTP server for the demo stack that keeps every message as a file instead of passing it on.

`python -m deploy.mail_sink --dir .lentur/mail --port N`. Each message is written whole to
`<dir>/<time>-<seq>.eml` (written to a temporary name first, then renamed, so a reader never sees half a
message), with the envelope added as `Return-Path` and `X-Envelope-To` the way a mail server records it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            seq = next(self._seq)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{seq:06d}.eml"
        head = f"Return-Path: <{envelope.mail_from}>\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        content = envelope.original_content or envelope.content
        data = head.encode() + (content if isinstance(content, bytes) else content.encode())
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, self.directory / name)
        return "250 Message accepted for delivery"


class MailSink:
    """The sink as an object (tests start it in-process; `lentur up` runs this module as a child)."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.host = host
        self.port = port or _free_port(host)
        self._controller = Controller(MaildirWriter(directory), hostname=host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[Path]:
        return sorted(p for p in self.directory.glob("*.eml"))


def _free_port(host: str) -> int:
    from deploy.processes import free_port

    return free_port(host)


def main() -> None:
    parser = argparse.ArgumentParser(description="Lentur demo SMTP sink")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sink = MailSink(args.dir, args.host, args.port)
    sink.start()
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    print(f"mail sink listening on {sink.url}, writing to {args.dir}", flush=True)
    stopped.wait()
    sink.stop()


if __name__ == "__main__":
    main()
