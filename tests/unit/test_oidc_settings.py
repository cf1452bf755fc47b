"""Which identity provider the settings choose, and what the OpenID Connect settings refuse."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from runtime.settings import Settings
from services.portal.identity import (
    DevIdentityProvider,
    OidcIdentityProvider,
    UnconfiguredProvider,
    identity_provider,
)
from tests.production_settings import PRODUCTION

OIDC = {"oidc_issuer": "https://sso.kendarikota.go.id/realms/asn", "oidc_client_id": "lentur"}


def _request(base: str = "http://lentur.test") -> Request:
    scheme, host = base.split("://")
    return Request(
        {"type": "http", "method": "GET", "path": "/masuk", "query_string": b"", "headers": [], "scheme": scheme}
        | {"server": (host, 443 if scheme == "https" else 80)}
    )


def test_an_issuer_wins_everywhere_and_dev_sign_in_only_without_one_outside_production() -> None:
    assert isinstance(identity_provider(Settings(env="test", dev_auth=True)), DevIdentityProvider)
    assert isinstance(identity_provider(Settings(env="test", dev_auth=True, **OIDC)), OidcIdentityProvider)
    assert isinstance(identity_provider(Settings(env="development", **OIDC)), OidcIdentityProvider)
    assert isinstance(identity_provider(Settings(env="test")), UnconfiguredProvider)
    assert isinstance(identity_provider(Settings(**PRODUCTION)), UnconfiguredProvider)  # type: ignore[arg-type]
    production = Settings(**PRODUCTION, **OIDC)  # type: ignore[arg-type]
    assert isinstance(identity_provider(production), OidcIdentityProvider)
    with pytest.raises(ValueError, match="DEV_AUTH must be off"):
        Settings(**PRODUCTION, **OIDC, dev_auth=True)  # type: ignore[arg-type]


def test_oidc_defaults() -> None:
    s = Settings(env="test", **OIDC)
    assert s.oidc_nip_claim == "nip"  # never preferred_username unless named
    assert s.oidc_scopes == "openid profile email"
    assert s.oidc_client_secret is None and s.oidc_redirect_url is None


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"oidc_client_id": None}, "LENTUR_OIDC_CLIENT_ID is required"),
        ({"oidc_issuer": "sso.kendarikota.go.id"}, "absolute https"),
        ({"oidc_issuer": "https://sso.example/?realm=asn"}, "absolute https"),
        ({"oidc_scopes": "profile email"}, "must include openid"),
        ({"oidc_nip_claim": " "}, "LENTUR_OIDC_NIP_CLAIM"),
        ({"oidc_redirect_url": "/masuk/oidc/callback"}, "LENTUR_OIDC_REDIRECT_URL"),
    ],
)
def test_oidc_settings_that_cannot_work_are_refused(override: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Settings(env="test", **{**OIDC, **override})  # type: ignore[arg-type]


def test_production_wants_https_at_the_issuer_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="https:// in production"):
        Settings(**PRODUCTION, oidc_issuer="http://sso.kendarikota.go.id", oidc_client_id="lentur")  # type: ignore[arg-type]
    assert Settings(**PRODUCTION, oidc_issuer="http://127.0.0.1:9000", oidc_client_id="x").oidc_issuer  # type: ignore[arg-type]
    assert Settings(env="test", oidc_issuer="http://sso.local", oidc_client_id="x").oidc_issuer


def test_oidc_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENTUR_OIDC_ISSUER", OIDC["oidc_issuer"])
    monkeypatch.setenv("LENTUR_OIDC_CLIENT_ID", "lentur-portal")
    monkeypatch.setenv("LENTUR_OIDC_CLIENT_SECRET", "s" * 40)
    monkeypatch.setenv("LENTUR_OIDC_NIP_CLAIM", "preferred_username")
    s = Settings(env="test")
    assert s.oidc_client_secret is not None and s.oidc_client_secret.get_secret_value() == "s" * 40
    assert "s" * 40 not in repr(s)
    assert s.oidc_nip_claim == "preferred_username"


def test_the_redirect_url_is_derived_unless_configured() -> None:
    provider = identity_provider(Settings(env="test", **OIDC))
    assert isinstance(provider, OidcIdentityProvider)
    assert provider.client.redirect_uri(_request()) == "http://lentur.test/masuk/oidc/callback"
    assert provider.start_url(_request(), "/") == "/masuk/oidc"
    assert provider.start_url(_request(), "/kotak-masuk?jenis=WFH") == "/masuk/oidc?lanjut=%2Fkotak-masuk%3Fjenis%3DWFH"
    behind_proxy = identity_provider(Settings(env="test", public_base_url="https://lentur.kendarikota.go.id/", **OIDC))
    assert isinstance(behind_proxy, OidcIdentityProvider)
    assert behind_proxy.client.redirect_uri(_request()) == "https://lentur.kendarikota.go.id/masuk/oidc/callback"
    fixed = identity_provider(Settings(env="test", oidc_redirect_url="https://x.go.id/masuk/oidc/callback", **OIDC))
    assert isinstance(fixed, OidcIdentityProvider)
    assert fixed.client.redirect_uri(_request()) == "https://x.go.id/masuk/oidc/callback"
