"""Who is signing in. The portal only needs one answer from an identity provider: a NIP the directory knows.

The dev provider lets anyone pick a demo NIP and exists only while `LENTUR_DEV_AUTH` is on (production settings
refuse that flag). A production deployment plugs an OpenID Connect provider in behind the same interface:
`start` sends the browser to the provider, `finish` turns the callback into a NIP (e.g. from a `nip` claim),
and the portal then issues the same signed session it issues for dev sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from runtime.settings import Settings
from services.problems import Problem


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

    async def finish(self, request: Request, form: dict[str, str]) -> str:
        """The NIP of whoever completed sign-in; raises Problem when sign-in failed."""
        ...


@dataclass(frozen=True)
class DevIdentityProvider:
    """Pick any NIP from the directory. Never available in production."""

    name: str = "dev"
    picks_nip: bool = True

    def start_url(self, request: Request, next_path: str) -> str | None:
        return None

    async def finish(self, request: Request, form: dict[str, str]) -> str:
        nip = (form.get("nip") or "").strip()
        if not (len(nip) == 18 and nip.isdigit()):
            raise Problem(422, "invalid_nip", "Pilih NIP 18 digit dari daftar.")
        return nip


@dataclass(frozen=True)
class UnconfiguredProvider:
    """Placeholder until an OpenID Connect issuer is configured: sign-in is refused with a clear message."""

    name: str = "oidc"
    picks_nip: bool = False

    def start_url(self, request: Request, next_path: str) -> str | None:
        return None

    async def finish(self, request: Request, form: dict[str, str]) -> str:
        raise Problem(
            503,
            "identity_provider_unconfigured",
            "Penyedia identitas (OIDC) belum dikonfigurasi; hubungi admin kepegawaian.",
        )


def identity_provider(settings: Settings) -> IdentityProvider:
    if settings.dev_auth and settings.env != "production":
        return DevIdentityProvider()
    return UnconfiguredProvider()
