"""Pure pieces of the security edge: token rotation, the token bucket, production settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runtime.settings import DEV_JWT_SECRET, Settings
from services.http.limits import TokenBuckets, signed_subject
from services.kernel.auth import TokenService
from services.kernel.problems import Problem
from tests.production_settings import PRODUCTION

OLD = "old-secret-that-was-in-force-last-month-000"
NEW = "new-secret-in-force-from-today-onwards-0000"
NIP = "199505042021012163"


def test_a_rotation_accepts_tokens_of_the_previous_secret_until_it_is_dropped() -> None:
    before, _ = TokenService(OLD, 3600).issue(NIP)
    rotating = TokenService(NEW, 3600, previous=[OLD])
    assert rotating.subject(before) == NIP
    after, _ = rotating.issue(NIP)
    assert TokenService(NEW, 3600).subject(after) == NIP  # new tokens use the new secret
    with pytest.raises(Problem) as refused:
        TokenService(NEW, 3600).subject(before)  # once the old secret is dropped
    assert refused.value.code == "invalid_token"


def test_an_expired_token_of_a_previous_secret_says_expired() -> None:
    old, _ = TokenService(OLD, 60).issue(NIP, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(Problem) as refused:
        TokenService(NEW, 3600, previous=[OLD]).subject(old)
    assert refused.value.code == "token_expired"


def test_the_rate_limiter_finds_the_subject_only_in_tokens_it_can_verify() -> None:
    token, _ = TokenService(NEW, 3600).issue(NIP)
    assert signed_subject(token, [OLD, NEW]) == NIP
    assert signed_subject(token, [OLD]) is None
    assert signed_subject("not-a-token", [NEW]) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a")
    assert wait == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # keys are independent
    clock.now += 1.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # never more than the burst


def test_token_bucket_forgets_the_idlest_keys_beyond_its_size() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(per_minute=1, burst=1, clock=clock, max_keys=2)
    buckets.take("a")
    buckets.take("b")
    buckets.take("c")  # "a" is forgotten and starts again with a full bucket
    assert buckets.take("a") == 0.0
    assert buckets.take("c") > 0


def test_a_zero_rate_turns_the_limiter_off() -> None:
    buckets = TokenBuckets(per_minute=0, burst=1)
    assert not buckets.enabled
    assert all(buckets.take("a") == 0.0 for _ in range(100))


def test_production_settings_start_with_their_own_secrets() -> None:
    assert Settings(**PRODUCTION).env == "production"


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"dev_auth": True}, "DEV_AUTH must be off"),
        ({"simulated_now": "2025-12-22T09:00:00+08:00"}, "simulated clock"),
        ({"jwt_secret": DEV_JWT_SECRET}, "LENTUR_JWT_SECRET"),
        ({"jwt_secret": "short"}, "LENTUR_JWT_SECRET"),
        ({"jwt_previous_secrets": ["short"]}, "PREVIOUS_SECRETS"),
        ({"vault_secret": None}, "LENTUR_VAULT_SECRET"),
        ({"vault_secret": "j" * 40}, "LENTUR_VAULT_SECRET"),  # the same as the JWT secret
        ({"tracing": "memory"}, "tests only"),
        ({"database_url": None}, "LENTUR_DATABASE_URL"),
    ],
)
def test_production_settings_refuse_development_shortcuts(override: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Settings(**{**PRODUCTION, **override})  # type: ignore[arg-type]


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(f"LENTUR_{name.upper()}", value)
    monkeypatch.setenv("LENTUR_JWT_PREVIOUS_SECRETS", f'["{OLD}"]')
    settings = Settings()
    assert settings.jwt_secret.get_secret_value() == "j" * 40
    assert [s.get_secret_value() for s in settings.jwt_previous_secrets] == [OLD]
    assert "j" * 40 not in repr(settings) and "v" * 40 not in repr(settings)


def test_a_remembered_token_still_expires_and_a_forged_one_is_never_remembered() -> None:
    now = [datetime.now(UTC).timestamp()]
    service = TokenService(NEW, 60, leeway_seconds=0, epoch_seconds=lambda: now[0])
    token, expires = service.issue(NIP)
    assert service.subject(token) == NIP
    assert service.subject(token) == NIP  # remembered
    header, payload, signature = token.split(".")
    with pytest.raises(Problem) as forged:
        service.subject(f"{header}.{payload}.{signature[:-4]}AAAA")
    assert forged.value.code == "invalid_token"
    now[0] = expires.timestamp() + 1  # the remembered token is past its expiry now
    with pytest.raises(Problem) as expired:
        service.subject(token)
    assert expired.value.code == "token_expired"
