"""The ID token checks of the OpenID Connect client, with tokens signed here by a key the client trusts.

Discovery and the key set are put in the client's caches, so nothing leaves the process; everything else
(PyJWT, the checks themselves) is the real code. The full redirect dance is in tests/e2e/test_portal_oidc.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from runtime.settings import Settings
from services.kernel.problems import Problem
from services.portal.oidc import CACHES, OidcClient

ISSUER = "https://sso.kendarikota.go.id/realms/asn"
JWKS_URI = ISSUER + "/keys"
DOC = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/auth",
    "token_endpoint": ISSUER + "/token",
    "jwks_uri": JWKS_URI,
    "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
}
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NIP = "197506201999081160"


@pytest.fixture(autouse=True)
def trusted_key() -> Iterator[None]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1", "use": "sig"}
    CACHES.clear()
    CACHES.discovery[ISSUER + "/.well-known/openid-configuration"] = (time.monotonic() + 3600, DOC)
    CACHES.jwks[JWKS_URI] = (time.monotonic(), jwt.PyJWKSet.from_dict({"keys": [public]}))
    yield
    CACHES.clear()


def _client(**overrides: Any) -> OidcClient:
    return OidcClient(Settings(env="test", oidc_issuer=ISSUER, oidc_client_id="lentur", **overrides))


def _token(key: Any = KEY, *, alg: str = "RS256", kid: str | None = "k1", **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "lentur", "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n1", "nip": NIP}
    claims |= changes
    claims = {k: v for k, v in claims.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return {"id_token": jwt.encode(claims, key, algorithm=alg, headers=headers)}


async def _nip(tokens: dict[str, Any], client: OidcClient | None = None, nonce: str = "n1") -> str:
    client = client or _client()
    claims = await client._verify_id_token(DOC, tokens, nonce)
    return await client._nip({}, claims, tokens)


async def test_a_good_token_gives_its_nip() -> None:
    assert await _nip(_token()) == NIP
    assert await _nip(_token(aud=["lentur", "other"], azp="lentur")) == NIP
    assert await _nip(_token(exp=int(time.time()) - 10)) == NIP  # within the leeway


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(_token(OTHER_KEY), id="signed-by-another-key"),
        pytest.param(_token(kid="unknown"), id="unknown-kid"),
        pytest.param(_token(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(_token(aud="someone-else"), id="wrong-audience"),
        pytest.param(_token(aud=["lentur", "other"]), id="several-audiences-without-azp"),
        pytest.param(_token(azp="other"), id="authorized-for-another-party"),
        pytest.param(_token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(_token(iat=int(time.time()) + 3600), id="issued-in-the-future"),
        pytest.param(_token(iat=int(time.time()) - 7200, exp=int(time.time()) + 60), id="issued-long-ago"),
        pytest.param(_token(iat=None), id="no-iat"),
        pytest.param(_token(nonce="n2"), id="wrong-nonce"),
        pytest.param(_token(nonce=None), id="no-nonce"),
        pytest.param(
            {"id_token": jwt.encode({"iss": ISSUER, "aud": "lentur", "nip": NIP}, None, algorithm="none")},
            id="alg-none",
        ),  # noqa: E501
        pytest.param(
            _token("rahasia-klien-yang-cukup-panjang-0123456789", alg="HS256"), id="hs256-with-a-shared-secret"
        ),  # noqa: E501
        pytest.param({"id_token": "not-a-token"}, id="garbage"),
    ],
)
async def test_a_token_that_fails_a_check_is_refused(tokens: dict[str, Any]) -> None:
    with pytest.raises(Problem) as refused:
        await _nip(tokens)
    assert refused.value.code == "oidc_token_invalid"


@pytest.mark.parametrize("nip", [None, "", "1975-06-20", "19750620199908116", 197506201999081160.0, True, ["x"]])
async def test_a_missing_or_malformed_nip_claim_is_refused(nip: object) -> None:
    with pytest.raises(Problem) as refused:
        await _nip(_token(nip=nip))
    assert refused.value.code == "oidc_nip_missing"
    assert refused.value.status == 401 and "NIP" in refused.value.detail


async def test_the_nip_comes_only_from_the_configured_claim() -> None:
    tokens = _token(nip=None, preferred_username=NIP)
    with pytest.raises(Problem, match="klaim 'nip'"):
        await _nip(tokens)
    assert await _nip(tokens, _client(oidc_nip_claim="preferred_username")) == NIP
    assert await _nip(_token(nip=int(NIP))) == NIP  # a numeric claim is read as its digits
