"""The browser session and its CSRF protection.

The session cookie holds the same signed, expiring JWT the API accepts as a Bearer token, so a page and an
API call made by the same browser are the same principal. Every form carries a CSRF token derived from the
cookie it is bound to (HMAC with the server secret): the session cookie once signed in, a random pre-session
cookie before. A token lifted from another browser or an older session does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from services.kernel.container import Container
from services.kernel.deps import SESSION_COOKIE

PRESESSION_COOKIE = "lentur_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def start_session(c: Container, request: Request, response: Response, nip: str) -> None:
    token, _ = c.tokens.issue(nip)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=c.settings.jwt_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def _binding(request: Request) -> str | None:
    return session_token(request) or request.cookies.get(PRESESSION_COOKIE) or None


def ensure_presession(request: Request) -> None:
    """Give a signed-out browser something to bind its sign-in form's token to (sent by `attach_presession`)."""
    if _binding(request) is None:
        request.state.presession = secrets.token_urlsafe(24)


def attach_presession(request: Request, response: Response) -> None:
    value = getattr(request.state, "presession", None)
    if value:
        response.set_cookie(
            PRESESSION_COOKIE, value, max_age=3600, httponly=True, samesite="lax", secure=_secure(request), path="/"
        )


def csrf_token_for(c: Container, binding: str) -> str:
    key = c.settings.jwt_secret.get_secret_value().encode()
    return hmac.new(key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_token(c: Container, request: Request) -> str:
    binding = _binding(request) or getattr(request.state, "presession", None)
    return csrf_token_for(c, binding) if binding else ""


def csrf_valid(c: Container, request: Request, submitted: str | None) -> bool:
    binding = _binding(request)
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(c, binding), submitted)
