"""OpenID Connect sign-in (relying party): authorization code flow with PKCE, ID token checked with PyJWT.

`begin` discovers the provider (`{issuer}/.well-known/openid-configuration`, cached), makes a fresh `state`,
`nonce` and PKCE verifier and returns the authorization URL plus a short-lived signed cookie that carries them
(and the path to return to) through the browser. `complete` takes the callback: it checks `state` against that
cookie (and refuses a state it has already seen), exchanges the code at the token endpoint, verifies the ID
token (signature against the provider's JWKS, algorithms from discovery but never `none` or a shared-secret
HS*, `iss`, `aud`/`azp`, `exp`, `iat`, `nonce`) and reads the NIP from the configured claim (the userinfo
endpoint is asked when the ID token lacks it). Tokens never reach the logs; the NIP is the only personal data
logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt
import structlog
from fastapi import Request, Response

from runtime.settings import Settings
from services.kernel.problems import Problem

log = structlog.get_logger(__name__)

FLOW_COOKIE = "lentur_oidc"
FLOW_PATH = "/masuk/oidc"
CALLBACK_PATH = "/masuk/oidc/callback"
FLOW_MAX_AGE_SECONDS = 600
_FLOW_AUDIENCE = "lentur-oidc-flow"
_DISCOVERY_TTL_SECONDS = 3600.0
_JWKS_MIN_REFRESH_SECONDS = 30.0
# Asymmetric signatures only: HS* would make the client secret a signing key, and `none` is never accepted.
_SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


def _sign_in_problem(status: int, code: str, detail: str) -> Problem:
    return Problem(status, code, detail, title="Tidak dapat masuk")


def state_mismatch() -> Problem:
    return _sign_in_problem(
        400,
        "oidc_state_mismatch",
        "Sesi masuk tidak cocok atau sudah dipakai (tautan lama, tab lain, atau kedaluwarsa). Silakan masuk ulang.",
    )


def _unavailable() -> Problem:
    return _sign_in_problem(
        502,
        "oidc_provider_unavailable",
        "Penyedia identitas (SSO) tidak dapat dihubungi. Coba lagi beberapa saat lagi.",
    )


def _token_invalid() -> Problem:
    return _sign_in_problem(
        401, "oidc_token_invalid", "Tanda masuk dari penyedia identitas tidak dapat diverifikasi. Silakan masuk ulang."
    )


class _Caches:
    """Discovery documents and key sets per URL, and the states already used, shared by every request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.discovery: dict[str, tuple[float, dict[str, Any]]] = {}
        self.jwks: dict[str, tuple[float, jwt.PyJWKSet]] = {}
        self.used_states: dict[str, float] = {}

    def use_state(self, state: str, expires: float) -> bool:
        """True the first time a state is completed; False for a replay (until the state would expire anyway)."""
        key = hashlib.sha256(state.encode()).hexdigest()
        now = time.time()
        with self.lock:
            for old in [k for k, until in self.used_states.items() if until < now]:
                del self.used_states[old]
            if key in self.used_states:
                return False
            self.used_states[key] = expires
            return True

    def clear(self) -> None:
        with self.lock:
            self.discovery.clear()
            self.jwks.clear()
            self.used_states.clear()


CACHES = _Caches()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _is_secure(request: Request, redirect_uri: str) -> bool:
    return request.url.scheme == "https" or redirect_uri.startswith("https://")


@dataclass(frozen=True)
class OidcClient:
    settings: Settings

    # --- configuration -------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.settings.require("oidc_issuer").rstrip("/")

    @property
    def client_id(self) -> str:
        return self.settings.require("oidc_client_id")

    def redirect_uri(self, request: Request) -> str:
        if self.settings.oidc_redirect_url:
            return self.settings.oidc_redirect_url
        base = (self.settings.public_base_url or str(request.base_url)).rstrip("/")
        return base + CALLBACK_PATH

    def _flow_key(self) -> bytes:
        secret = self.settings.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"oidc-flow", hashlib.sha256).digest()

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.settings.oidc_timeout_seconds, follow_redirects=False)

    # --- discovery and keys --------------------------------------------------------------------------

    async def discovery(self) -> dict[str, Any]:
        url = self.issuer + "/.well-known/openid-configuration"
        cached = CACHES.discovery.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            async with self._http() as http:
                r = await http.get(url)
            r.raise_for_status()
            doc = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc_discovery_failed", issuer=self.issuer, error=type(exc).__name__)
            raise _unavailable() from exc
        missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not doc.get(k)]
        if missing or str(doc["issuer"]).rstrip("/") != self.issuer:
            log.error("oidc_discovery_document_refused", issuer=self.issuer, missing=missing)
            raise _sign_in_problem(
                502,
                "oidc_provider_misconfigured",
                "Konfigurasi penyedia identitas tidak sesuai (issuer atau endpoint). Hubungi admin kepegawaian.",
            )
        CACHES.discovery[url] = (time.monotonic() + _DISCOVERY_TTL_SECONDS, doc)
        return dict(doc)

    async def _signing_key(self, jwks_uri: str, kid: str | None) -> jwt.PyJWK:
        for attempt in range(2):
            cached = CACHES.jwks.get(jwks_uri)
            fresh_enough = cached is not None and cached[0] > time.monotonic() - _JWKS_MIN_REFRESH_SECONDS
            if cached is None or (attempt == 1 and not fresh_enough):
                try:
                    async with self._http() as http:
                        r = await http.get(jwks_uri)
                    r.raise_for_status()
                    keyset = jwt.PyJWKSet.from_dict(r.json())
                except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
                    log.warning("oidc_jwks_fetch_failed", issuer=self.issuer, error=type(exc).__name__)
                    raise _unavailable() from exc
                CACHES.jwks[jwks_uri] = cached = (time.monotonic(), keyset)
            assert cached is not None
            keys = [k for k in cached[1].keys if k.public_key_use in (None, "sig")]
            if kid is None and len(keys) == 1:
                return keys[0]
            match = next((k for k in keys if k.key_id == kid), None) if kid is not None else None
            if match is not None:
                return match
        log.warning("oidc_id_token_signed_with_an_unknown_key", issuer=self.issuer)
        raise _token_invalid()

    # --- the flow --------------------------------------------------------------------------------------

    async def begin(self, request: Request, next_path: str) -> tuple[str, str]:
        """The provider's authorization URL and the flow cookie's value."""
        doc = await self.discovery()
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        redirect_uri = self.redirect_uri(request)
        now = datetime.now(UTC)
        cookie = jwt.encode(
            {
                "aud": _FLOW_AUDIENCE,
                "iat": now,
                "exp": now + timedelta(seconds=FLOW_MAX_AGE_SECONDS),
                "state": state,
                "nonce": nonce,
                "verifier": verifier,
                "next": next_path,
                "redirect_uri": redirect_uri,
            },
            self._flow_key(),
            algorithm="HS256",
        )
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        endpoint = str(doc["authorization_endpoint"])
        return endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode(params), cookie

    def set_flow_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(
            FLOW_COOKIE,
            value,
            max_age=FLOW_MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=_is_secure(request, self.redirect_uri(request)),
            path=FLOW_PATH,
        )

    def clear_flow_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            FLOW_COOKIE,
            path=FLOW_PATH,
            httponly=True,
            samesite="lax",
            secure=_is_secure(request, self.redirect_uri(request)),
        )

    def _flow(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(FLOW_COOKIE)
        if not raw:
            raise state_mismatch()
        try:
            flow: dict[str, Any] = jwt.decode(
                raw,
                self._flow_key(),
                algorithms=["HS256"],
                audience=_FLOW_AUDIENCE,
                options={"require": ["exp", "iat", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise state_mismatch() from exc
        return flow

    async def complete(self, request: Request, params: dict[str, str]) -> tuple[str, str]:
        """The callback: the NIP of whoever signed in and the path they were on their way to."""
        error = params.get("error")
        if error:
            log.info("oidc_refused_by_provider", error=error[:64])
            if error == "access_denied":
                raise _sign_in_problem(
                    403, "oidc_denied", "Masuk dibatalkan atau ditolak di penyedia identitas (SSO). Silakan coba lagi."
                )
            raise _sign_in_problem(
                502,
                "oidc_provider_error",
                f"Penyedia identitas (SSO) menolak permintaan masuk ({error[:64]}). Hubungi admin kepegawaian.",
            )
        flow = self._flow(request)
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), str(flow.get("state", "")).encode()):
            log.warning("oidc_state_mismatch")
            raise state_mismatch()
        if not CACHES.use_state(state, float(flow["exp"])):
            log.warning("oidc_state_replayed")
            raise state_mismatch()
        code = params.get("code")
        if not code:
            raise _token_invalid()
        doc = await self.discovery()
        tokens = await self._exchange(doc, code, str(flow["redirect_uri"]), str(flow["verifier"]))
        claims = await self._verify_id_token(doc, tokens, str(flow["nonce"]))
        nip = await self._nip(doc, claims, tokens)
        log.info("oidc_signed_in", nip=nip)
        return nip, str(flow.get("next") or "/")

    async def _exchange(self, doc: dict[str, Any], code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        # unset or empty: a public client
        secret = self.settings.oidc_client_secret.get_secret_value() if self.settings.oidc_client_secret else ""
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if not secret:
            data["client_id"] = self.client_id  # a public client: PKCE is its proof
        elif "client_secret_basic" in methods:
            # RFC 6749 §2.3.1: id and secret are form-encoded before they go into the Basic header
            basic = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(basic).decode()
        else:
            data |= {"client_id": self.client_id, "client_secret": secret}
        try:
            async with self._http() as http:
                r = await http.post(str(doc["token_endpoint"]), data=data, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("oidc_token_endpoint_unreachable", error=type(exc).__name__)
            raise _unavailable() from exc
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or not isinstance(body, dict) or not body.get("id_token"):
            error = body.get("error") if isinstance(body, dict) else None
            log.warning("oidc_code_exchange_refused", status=r.status_code, error=str(error)[:64] if error else None)
            raise _sign_in_problem(
                401,
                "oidc_exchange_failed",
                "Penyedia identitas menolak kode masuk (mungkin sudah dipakai atau kedaluwarsa). Silakan masuk ulang.",
            )
        return body

    def _algorithms(self, doc: dict[str, Any]) -> list[str]:
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        allowed = [alg for alg in offered if alg in _SIGNING_ALGORITHMS]
        if not allowed:
            log.error("oidc_provider_offers_no_acceptable_signing_algorithm", offered=offered)
            raise _sign_in_problem(
                502,
                "oidc_provider_misconfigured",
                "Penyedia identitas tidak menandatangani token dengan algoritme yang diterima. Hubungi admin.",
            )
        return allowed

    async def _verify_id_token(self, doc: dict[str, Any], tokens: dict[str, Any], nonce: str) -> dict[str, Any]:
        raw = str(tokens["id_token"])
        algorithms = self._algorithms(doc)
        try:
            header = jwt.get_unverified_header(raw)
        except jwt.InvalidTokenError as exc:
            raise _token_invalid() from exc
        if header.get("alg") not in algorithms:
            log.warning("oidc_id_token_algorithm_refused", alg=str(header.get("alg"))[:16])
            raise _token_invalid()
        key = await self._signing_key(str(doc["jwks_uri"]), header.get("kid"))
        leeway = self.settings.jwt_leeway_seconds
        try:
            claims: dict[str, Any] = jwt.decode(
                raw,
                key.key,
                algorithms=algorithms,
                audience=self.client_id,
                issuer=str(doc["issuer"]),
                leeway=leeway,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            log.warning("oidc_id_token_refused", reason=type(exc).__name__)
            raise _token_invalid() from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            log.warning("oidc_id_token_for_another_party")
            raise _token_invalid()
        iat = claims["iat"]
        if not isinstance(iat, int | float) or iat < time.time() - FLOW_MAX_AGE_SECONDS - leeway:
            log.warning("oidc_id_token_too_old")
            raise _token_invalid()
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            log.warning("oidc_nonce_mismatch")
            raise _token_invalid()
        return claims

    async def _nip(self, doc: dict[str, Any], claims: dict[str, Any], tokens: dict[str, Any]) -> str:
        name = self.settings.oidc_nip_claim
        value = claims.get(name)
        if value is None and doc.get("userinfo_endpoint") and tokens.get("access_token"):
            value = await self._userinfo_claim(str(doc["userinfo_endpoint"]), str(tokens["access_token"]), claims)
        if value is None:
            log.warning("oidc_nip_claim_missing", claim=name)
            raise _sign_in_problem(
                401,
                "oidc_nip_missing",
                f"Akun SSO Anda tidak membawa NIP (klaim '{name}'). Hubungi admin kepegawaian agar NIP dicatat di "
                "akun SSO.",
            )
        nip = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not (len(nip) == 18 and nip.isdigit()):
            log.warning("oidc_nip_claim_malformed", claim=name)
            raise _sign_in_problem(
                401,
                "oidc_nip_missing",
                f"Klaim '{name}' di akun SSO Anda bukan NIP 18 digit. Hubungi admin kepegawaian.",
            )
        return nip

    async def _userinfo_claim(self, endpoint: str, access_token: str, claims: dict[str, Any]) -> Any:
        try:
            async with self._http() as http:
                r = await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            info = r.json() if r.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            log.warning("oidc_userinfo_unavailable")
            return None
        # OIDC Core §5.3.2: a userinfo answer about someone else is ignored
        if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
            return None
        return info.get(self.settings.oidc_nip_claim)

    async def end_session_url(self, request: Request) -> str | None:
        """The provider's RP-initiated logout, back to our sign-in page; None when it has none."""
        try:
            doc = await self.discovery()
        except Problem:
            return None
        endpoint = doc.get("end_session_endpoint")
        if not endpoint:
            return None
        base = (self.settings.public_base_url or str(request.base_url)).rstrip("/")
        params = {"client_id": self.client_id, "post_logout_redirect_uri": base + "/masuk"}
        return str(endpoint) + ("&" if urlsplit(str(endpoint)).query else "?") + urlencode(params)


def oidc_client(settings: Settings) -> OidcClient:
    return OidcClient(settings)
