"""Sign-in through OpenID Connect, end to end: a real OpenID provider (oidc-provider-mock, on a loopback port in
a thread) and the real portal on the in-process stack with the sample directory. The browser is an httpx client
that follows every redirect by hand, so each hop (portal → provider → callback → portal) is checked."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import structlog
import werkzeug.serving
from oidc_provider_mock import User
from oidc_provider_mock import app as oidc_provider_app

from deploy.infra import InfraAddresses
from services.portal.oidc import CACHES, FLOW_COOKIE
from services.portal.session import PRESESSION_COOKIE, csrf_token_for
from tests.browser.support import csrf_from
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

UNIT_HEAD = "197506201999081160"  # Indah Sari, kepala Bidang 1, Dinas Perhubungan, Kendari
STAFF = "199505042021012163"  # Putri Teguh, DISHUB-U1, Kendari
UNKNOWN_NIP = "199001012020011999"  # well-formed, but in no directory
CLIENT_ID = "lentur-portal"
USERS = (
    User(sub="indah.sari", claims={"nip": UNIT_HEAD, "name": "Indah Sari"}),
    User(sub="putri.teguh", claims={"nip": STAFF, "name": "Putri Teguh"}),
    User(sub="tanpa.nip", claims={"name": "Akun Tanpa NIP"}),
    User(sub="nip.rusak", claims={"nip": "1975-06-20"}),
    User(sub="orang.luar", claims={"nip": UNKNOWN_NIP}),
)


TOKEN_REQUESTS: list[str] = []  # how the portal authenticated at the token endpoint, request by request


@contextmanager
def openid_provider() -> Iterator[str]:
    """A real OpenID provider on a free loopback port; yields its issuer URL."""
    app = oidc_provider_app(user_claims=USERS, require_nonce=True)

    def watching_client_auth(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode())
            basic = str(environ.get("HTTP_AUTHORIZATION", "")).startswith("Basic ")
            TOKEN_REQUESTS.append("basic" if basic else "post" if "client_secret" in form else "none")
        return app(environ, start_response)

    server = werkzeug.serving.make_server("127.0.0.1", 0, watching_client_auth, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with openid_provider() as url:
        yield url


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses, issuer: str) -> AsyncIterator[RunningStack]:
    # dev_auth stays on (running_stack's default): a configured issuer wins over the NIP picker
    async with running_stack(
        infra,
        await create_database(infra),
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret="rahasia-klien-portal",
    ) as running:
        yield running
    CACHES.clear()


@dataclass
class Dance:
    portal: httpx.AsyncClient
    callback: str  # the provider's redirect back to the portal (path and query)
    flow_cookie: str


async def to_provider_and_back(
    stack: RunningStack, portal: httpx.AsyncClient, sub: str | None, *, next_path: str | None = None
) -> Dance:
    """Sign-in page → /masuk/oidc → the provider's consent form → (approve as `sub`, or deny) → callback URL."""
    page = await portal.get("/masuk", params={"lanjut": next_path} if next_path else None)
    assert page.status_code == 200
    assert "Masuk dengan akun SSO pemda" in page.text
    assert 'for="nip"' not in page.text  # no NIP picker once an issuer is configured
    start = re.search(r'href="(/masuk/oidc[^"]*)"', page.text)
    assert start, page.text
    begin = await portal.get(start.group(1).replace("&amp;", "&"))
    assert begin.status_code == 303
    authorize = begin.headers["location"]
    flow_cookie = next(v for k, v in begin.headers.multi_items() if k == "set-cookie" and v.startswith(FLOW_COOKIE))
    lowered = flow_cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/masuk/oidc" in lowered
    assert "secure" not in lowered  # plain http on loopback; https gets Secure
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [stack.base_url + "/masuk/oidc/callback"]
    assert query["client_id"] == [CLIENT_ID] and query["nonce"] and query["state"]
    async with httpx.AsyncClient(timeout=30) as browser_at_provider:
        form = await browser_at_provider.get(authorize)
        assert form.status_code == 200, form.text
        answer = await browser_at_provider.post(authorize, data={"action": "deny"} if sub is None else {"sub": sub})
    assert answer.status_code in (302, 303), answer.text
    back = answer.headers["location"]
    assert back.startswith(stack.base_url + "/masuk/oidc/callback?")
    back_query = parse_qs(urlsplit(back).query)
    if sub is not None:  # (this provider leaves `state` off its access_denied answer; the portal copes)
        assert back_query["state"] == query["state"]
    return Dance(portal, back.removeprefix(stack.base_url), flow_cookie)


async def sso_sign_in(stack: RunningStack, portal: httpx.AsyncClient, sub: str, next_path: str | None = None) -> str:
    dance = await to_provider_and_back(stack, portal, sub, next_path=next_path)
    done = await portal.get(dance.callback)
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def _code(page: httpx.Response) -> str:
    found = re.search(r"Kode: ([a-z_]+)", page.text)
    return found.group(1) if found else ""


async def test_sso_sign_in_lands_on_the_portal_signed_in_as_the_nip_from_the_claim(stack: RunningStack) -> None:
    async with stack.client() as portal:
        landing = await sso_sign_in(stack, portal, "indah.sari", next_path="/kotak-masuk?jenis=WFH")
        assert landing == "/kotak-masuk?jenis=WFH"
        assert TOKEN_REQUESTS[-1] == "basic"  # discovery names no method: client_secret_basic
        session = portal.cookies.get("lentur_session")
        assert session
        home = await portal.get("/")
        assert home.status_code == 200
        assert "Indah Sari" in home.text
        inbox = await portal.get(landing)
        assert inbox.status_code == 200  # a unit head's inbox
        me = await portal.get("/api/requests?mine=true")
        assert me.status_code == 200  # the same session the API accepts
        # a NIP posted to the dev form is no credential once OIDC signs people in
        refused = await portal.post("/masuk", data={"nip": STAFF, "csrf_token": csrf_from(home.text)})
        assert refused.status_code == 400 and _code(refused) == "oidc_form_refused"
        # signing out ends the local session and offers the provider's logout
        out = await portal.post("/keluar", data={"csrf_token": csrf_from(home.text)})
        assert out.status_code == 303 and out.headers["location"] == "/masuk?keluar=1"
        after = await portal.get(out.headers["location"])
        assert "Anda sudah keluar dari Lentur" in after.text
        assert "/oauth2/end_session?client_id=lentur-portal&amp;post_logout_redirect_uri=" in after.text
        assert (await portal.get("/", follow_redirects=False)).status_code == 303


async def test_an_open_redirect_is_not_carried_through_the_provider(stack: RunningStack) -> None:
    async with stack.client() as portal:
        assert await sso_sign_in(stack, portal, "putri.teguh", next_path="//evil.example/") == "/"


async def test_a_provider_that_wants_the_secret_in_the_form_gets_it_there(stack: RunningStack, issuer: str) -> None:
    """client_secret_post when discovery offers only that (this provider accepts both; Basic is the default)."""
    discovery_url = issuer + "/.well-known/openid-configuration"
    async with httpx.AsyncClient() as http:
        doc = (await http.get(discovery_url)).json()
    CACHES.discovery[discovery_url] = (
        time.monotonic() + 600,
        doc | {"token_endpoint_auth_methods_supported": ["client_secret_post"]},
    )
    try:
        async with stack.client() as portal:
            assert await sso_sign_in(stack, portal, "putri.teguh", next_path="/pengajuan/saya") == "/pengajuan/saya"
            assert "Putri Teguh" in (await portal.get("/")).text
        assert TOKEN_REQUESTS[-1] == "post"
    finally:
        CACHES.discovery.pop(discovery_url, None)


async def test_a_tampered_missing_or_replayed_state_is_refused(stack: RunningStack) -> None:
    async with stack.client() as portal:
        dance = await to_provider_and_back(stack, portal, "putri.teguh")
        tampered = re.sub(r"state=[^&]+", "state=forged", dance.callback)
        r = await portal.get(tampered)
        assert r.status_code == 400 and _code(r) == "oidc_state_mismatch"
        assert "lentur_session" not in r.headers.get("set-cookie", "")
    async with stack.client() as other_browser:  # the callback without the flow cookie it belongs to
        dance = await to_provider_and_back(stack, other_browser, "putri.teguh")
        other_browser.cookies.clear()
        r = await other_browser.get(dance.callback)
        assert r.status_code == 400 and _code(r) == "oidc_state_mismatch"
    async with stack.client() as portal:
        dance = await to_provider_and_back(stack, portal, "putri.teguh")
        assert (await portal.get(dance.callback)).status_code == 303
        # the callback clears its cookie; a replay that brings the old cookie back is still refused
        portal.cookies.clear()
        flow = dance.flow_cookie.split(";", 1)[0]
        r = await portal.get(dance.callback, headers={"cookie": flow})
        assert r.status_code == 400 and _code(r) == "oidc_state_mismatch"
    async with stack.client() as portal:  # a forged flow cookie does not verify
        dance = await to_provider_and_back(stack, portal, "putri.teguh")
        name, value = dance.flow_cookie.split(";", 1)[0].split("=", 1)
        head, body, _ = value.split(".")
        portal.cookies.clear()
        r = await portal.get(dance.callback, headers={"cookie": f"{name}={head}.{body}.AAAA"})
        assert r.status_code == 400 and _code(r) == "oidc_state_mismatch"


async def test_a_token_without_a_nip_claim_is_refused(stack: RunningStack) -> None:
    for sub in ("tanpa.nip", "nip.rusak"):
        async with stack.client() as portal:
            dance = await to_provider_and_back(stack, portal, sub)
            r = await portal.get(dance.callback)
            assert r.status_code == 401 and _code(r) == "oidc_nip_missing", sub
            assert "Tidak dapat masuk" in r.text and "NIP" in r.text
            assert "lentur_session" not in r.headers.get("set-cookie", "")


async def test_a_nip_unknown_to_the_directory_is_refused(stack: RunningStack) -> None:
    async with stack.client() as portal:
        dance = await to_provider_and_back(stack, portal, "orang.luar")
        r = await portal.get(dance.callback)
        assert r.status_code == 401 and _code(r) == "unknown_nip"
        assert "NIP tidak ada di direktori." in r.text
        assert "lentur_session" not in r.headers.get("set-cookie", "")


async def test_a_refusal_at_the_provider_is_explained(stack: RunningStack) -> None:
    async with stack.client() as portal:
        dance = await to_provider_and_back(stack, portal, None)
        assert "error=access_denied" in dance.callback
        r = await portal.get(dance.callback)
        assert r.status_code == 403 and _code(r) == "oidc_denied"
        assert "Masuk dibatalkan atau ditolak" in r.text


async def test_production_signs_in_through_the_issuer_and_refuses_without_one(stack: RunningStack) -> None:
    settings = stack.settings
    saved = (settings.env, settings.dev_auth, settings.oidc_issuer)
    settings.env, settings.dev_auth = "production", False
    try:
        async with stack.client() as portal:
            assert await sso_sign_in(stack, portal, "indah.sari") == "/"
            assert "Indah Sari" in (await portal.get("/")).text
        settings.oidc_issuer = None
        async with stack.client() as portal:
            page = await portal.get("/masuk")
            assert page.status_code == 200
            assert "belum dikonfigurasi" in page.text and "/masuk/oidc" not in page.text
            assert 'for="nip"' not in page.text
            start = await portal.get("/masuk/oidc")
            assert start.status_code == 503 and _code(start) == "identity_provider_unconfigured"
            # the page has no form left to post; a well-formed post (valid CSRF token) is refused all the same
            token = csrf_token_for(SimpleNamespace(settings=settings), portal.cookies[PRESESSION_COOKIE])  # type: ignore[arg-type]
            posted = await portal.post("/masuk", data={"nip": STAFF, "csrf_token": token})
            assert posted.status_code == 503 and _code(posted) == "identity_provider_unconfigured"
            assert "lentur_session" not in posted.headers.get("set-cookie", "")
    finally:
        settings.env, settings.dev_auth, settings.oidc_issuer = saved


async def test_sign_in_logs_the_nip_and_never_a_token_or_claim(
    stack: RunningStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        async with stack.client() as portal:
            dance = await to_provider_and_back(stack, portal, "indah.sari")
            assert (await portal.get(dance.callback)).status_code == 303
    # Lentur's own logs: not the provider's, nor transport traces (HTTP client debug, the server's access log)
    others = ("werkzeug", "oidc_provider_mock", "authlib", "httpx", "httpcore", "uvicorn.access")
    ours = [r for r in caplog.records if not r.name.startswith(others)]
    logged = [json.dumps(entry, default=str) for entry in captured] + [r.getMessage() for r in ours]
    assert any(UNIT_HEAD in line and "oidc_signed_in" in line for line in logged)
    query = parse_qs(urlsplit(dance.callback).query)
    flow = dance.flow_cookie.split(";", 1)[0].split("=", 1)[1]
    for secret in (query["code"][0], query["state"][0], flow, "Indah Sari", "indah.sari", "eyJ"):
        leaks = [line for line in logged if secret in line]
        assert not leaks, f"{secret!r} appeared in the logs: {leaks[:2]}"
