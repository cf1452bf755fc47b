"""The load generator's HTTP client: HTTP/1.1 keep-alive connections, one per caller in flight, responses
parsed by httptools (the C parser under the API's own uvicorn).

httpx spent about 3 ms of CPU per call here, three calls per approval: more than the bare workflow's client
spends on a whole approval. The bench measures the service, so its own client should cost as little as the
bare one's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools
import orjson


@dataclass
class Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:200]}")


@dataclass
class _Reading:
    body: list[bytes] = field(default_factory=list)
    complete: bool = False
    keep_alive: bool = True

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[Response, bool]:
        self.writer.write(request)
        reading = _Reading()
        parser = httptools.HttpResponseParser(reading)
        while not reading.complete:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parser.feed_data(chunk)
        return Response(parser.get_status_code(), b"".join(reading.body)), parser.should_keep_alive()

    def close(self) -> None:
        self.writer.close()


class BenchClient:
    """`async with BenchClient(base_url) as http: await http.post(path, json=…, token=…)`."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> BenchClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        return _Connection(*await asyncio.open_connection(self.host, self.port))

    async def get(self, path: str, *, token: str | None = None) -> Response:
        return await self._send(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n", b"", token)

    async def post(self, path: str, *, json: Any, token: str | None = None) -> Response:
        body = orjson.dumps(json)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        return await self._send(head, body, token)

    async def _send(self, head: str, body: bytes, token: str | None) -> Response:
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        request = head.encode() + b"\r\n" + body
        async with asyncio.timeout(self.timeout):
            while True:
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await self._connect()
                try:
                    response, keep_alive = await conn.exchange(request)
                    break
                except ConnectionError:
                    conn.close()
                    if not reused:
                        raise
                    # An idle connection the server had closed: the request never reached it.
                except BaseException:
                    conn.close()
                    raise
        if keep_alive:
            self._idle.append(conn)
        else:
            conn.close()
        return response
