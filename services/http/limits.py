"""Limits at the edge: request body size (declared or streamed) and the write rate per signed-in subject.

Both run before any handler, so an oversized or too frequent request never reaches the domain. They keep
state in-process only; behind several API replicas the rate is per replica (documented in the README).
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel.problems import Problem, problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_PATHS = ("/api/admin/directory",)
# A daily report may carry a 2 MiB attachment, base64 in JSON: a third more, plus the report's text.
REPORT_PATH = re.compile(r"^/api/requests/[^/]+/reports$")
REPORT_BODY_BYTES = 3 * 1024 * 1024
# A leave request may carry five 2 MB documents, base64 in JSON; BKN's letter for a CLTN one.
LEAVE_PATH = re.compile(r"^(/api/requests(/[^/]+/(resubmit|external-approvals))?|/pengajuan(/[^/]+/ajukan-ulang)?)$")
LEAVE_BODY_BYTES = 14 * 1024 * 1024
DRAIN_BYTES = 8 * 1024 * 1024


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: `burst` tokens, refilled at `per_minute`; pure apart from the clock."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """Take one token; 0.0 when granted, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket  # most recently used last, so eviction drops the idlest key
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def signed_subject(token: str, secrets: list[str]) -> str | None:
    """The subject of a token that verifies with one of our secrets (expiry is the endpoint's business)."""
    return _signed_subject(token, tuple(secrets))


@functools.lru_cache(maxsize=4096)
def _signed_subject(token: str, secrets: tuple[str, ...]) -> str | None:
    """Pure in its arguments (no clock), so remembered: a caller sends the same token request after request."""
    for secret in secrets:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.PyJWTError:
            continue
        sub = claims.get("sub")
        return str(sub) if sub else None
    return None


class EdgeLimits:
    """ASGI middleware: 413 for bodies over the limit (also chunked ones), 429 for writes over the rate."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_body: int,
        max_upload_body: int,
        buckets: TokenBuckets,
        secrets: Callable[[], list[str]],
        session_cookie: str,
    ) -> None:
        self.app = app
        self.max_json_body = max_json_body
        self.max_upload_body = max_upload_body
        self.buckets = buckets
        self.secrets = secrets
        self.session_cookie = session_cookie

    def limit_for(self, path: str) -> int:
        if path in UPLOAD_PATHS:
            return self.max_upload_body
        if REPORT_PATH.match(path):
            return max(self.max_json_body, REPORT_BODY_BYTES)
        if LEAVE_PATH.match(path):
            return max(self.max_json_body, LEAVE_BODY_BYTES)
        return self.max_json_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] in WRITE_METHODS and self.buckets.enabled:
            wait = self._rate_wait(scope)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                problem = Problem(
                    429, "rate_limited", f"Terlalu banyak perubahan dalam waktu singkat; coba lagi dalam {retry} detik."
                )
                await problem_response(problem, path, headers={"Retry-After": retry})(scope, receive, send)
                return
        limit = self.limit_for(path)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] not in WRITE_METHODS and _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read up to the limit before the app sees a byte, then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _rate_wait(self, scope: Scope) -> float:
        auth = _header(scope, b"authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else _cookie(scope, self.session_cookie)
        if not token:
            return 0.0  # anonymous writes fail authentication anyway
        subject = signed_subject(token, self.secrets())
        return self.buckets.take(f"sub:{subject}") if subject else 0.0

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read (and drop) a bounded amount of what the client is still sending, so that an honest client gets
        # the answer rather than a reset connection; a client sending more than that is simply cut off.
        drained = 0
        while drained <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        limit_kib = self.limit_for(scope["path"]) // 1024
        problem = Problem(413, "too_large", f"Badan permintaan terlalu besar (paling besar {limit_kib} KiB).")
        await problem_response(problem, scope["path"], headers={"Connection": "close"})(scope, receive, send)
