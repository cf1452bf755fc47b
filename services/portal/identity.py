"""Who is signing in. The portal only needs one answer from an identity provider: a NIP the directory knows.

Three providers sit behind one interface:

- `OidcIdentityProvider` whenever `LENTUR_OIDC_ISSUER` is set, in every environment (production included):
  `GET /masuk/oidc` sends the browser to the provider (authorization code + PKCE), the callback turns the
  ID token's NIP claim into a signed-in NIP (`oidc.py` does the protocol work).
- `DevIdentityProvider` lets anyone pick a demo NIP; only without an issuer, with `LENTUR_DEV_AUTH` on and
  outside production (production settings refuse that flag anyway).
- `UnconfiguredProvider` otherwise: sign-in is refused with `identity_provider_unconfigured`.

Whichever answers, the portal then issues the same signed session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from fastapi import Request

from runtime.settings import Settings
from services.kernel.problems import Problem
from services.portal.oidc import OidcClient, oidc_client


@dataclass(frozen=True)
class SignedIn:
    nip: str
    # Where the browser goes next when the provider kept it (OIDC); None: the sign-in form's own `lanjut`.
    next_path: str | None = None


class IdentityProvider(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def picks_nip(self) -> bool:
        """True when the sign-in page itself offers a NIP to choose (dev only)."""
        ...

    def start_url(self, request: Request, next_path: str) -> str | None:
        """Where the browser goes to sign in, or None when the portal's own page does it."""
        ...

    async def finish(self, request: Request, form: dict[str, str]) -> SignedIn:
        """Whoever completed sign-in (the form posted to /masuk, or the provider's callback parameters);
        raises Problem when sign-in failed."""
        ...


@dataclass(frozen=True)
class DevIdentityProvider:
    """Pick any NIP from the directory. Never available in production."""

    name: str = "dev"
    picks_nip: bool = True

    def start_url(self, request: Request, next_path: str) -> str | None:
        return None

    async def finish(self, request: Request, form: dict[str, str]) -> SignedIn:
        nip = (form.get("nip") or "").strip()
        if not (len(nip) == 18 and nip.isdigit()):
            raise Problem(422, "invalid_nip", "Pilih NIP 18 digit dari daftar.")
        return SignedIn(nip)


@dataclass(frozen=True)
class UnconfiguredProvider:
    """No OpenID Connect issuer configured (and no dev sign-in): sign-in is refused with a clear message."""

    name: str = "unconfigured"
    picks_nip: bool = False

    def start_url(self, request: Request, next_path: str) -> str | None:
        return None

    async def finish(self, request: Request, form: dict[str, str]) -> SignedIn:
        raise unconfigured()


def unconfigured() -> Problem:
    return Problem(
        503,
        "identity_provider_unconfigured",
        "Penyedia identitas (OIDC) belum dikonfigurasi; hubungi admin kepegawaian.",
    )


@dataclass(frozen=True)
class OidcIdentityProvider:
    """Sign-in at the pemda's OpenID Connect provider; the NIP comes from the configured claim."""

    client: OidcClient
    name: str = "oidc"
    picks_nip: bool = False

    def start_url(self, request: Request, next_path: str) -> str | None:
        return "/masuk/oidc" + (f"?{urlencode({'lanjut': next_path})}" if next_path != "/" else "")

    async def finish(self, request: Request, form: dict[str, str]) -> SignedIn:
        nip, next_path = await self.client.complete(request, form)
        return SignedIn(nip, next_path)


def identity_provider(settings: Settings) -> IdentityProvider:
    """An issuer wins everywhere; dev sign-in only without one and outside production; else refused."""
    if settings.oidc_issuer:
        return OidcIdentityProvider(oidc_client(settings))
    if settings.dev_auth and settings.env != "production":
        return DevIdentityProvider()
    return UnconfiguredProvider()
