"""Signed, expiring bearer tokens whose subject is the NIP. A bare NIP is never a credential."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from contracts.common import Role
from contracts.directory import Person
from services.kernel.problems import Problem

ALGORITHM = "HS256"
ISSUER = "lentur"


@dataclass(frozen=True)
class Principal:
    person: Person

    @property
    def nip(self) -> str:
        return self.person.nip

    @property
    def region(self) -> str:
        return self.person.region

    def has(self, role: Role) -> bool:
        return role in self.person.roles

    @property
    def is_inspector(self) -> bool:
        return self.has(Role.INSPECTOR)

    @property
    def is_admin(self) -> bool:
        return self.has(Role.ADMIN)


class TokenService:
    """Issues with the current secret; accepts the current and, during a rotation, the previous ones.

    Tokens are checked with a small leeway for clock skew between replicas (exp, nbf and iat alike).
    """

    def __init__(
        self, secret: str, ttl_seconds: int, *, previous: Sequence[str] = (), leeway_seconds: int = 30
    ) -> None:
        self._secret = secret
        self._previous = tuple(previous)
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds

    @property
    def secrets(self) -> list[str]:
        return [self._secret, *self._previous]

    def issue(self, nip: str, *, now: datetime | None = None) -> tuple[str, datetime]:
        issued = now or datetime.now(UTC)
        expires = issued + timedelta(seconds=self._ttl)
        token = jwt.encode(
            {"sub": nip, "iss": ISSUER, "iat": issued, "nbf": issued, "exp": expires, "jti": uuid.uuid4().hex},
            self._secret,
            algorithm=ALGORITHM,
        )
        return token, expires

    def subject(self, token: str) -> str:
        claims: dict[str, object] | None = None
        for secret in self.secrets:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    leeway=self._leeway,
                    options={"require": ["exp", "iat", "sub", "iss"]},
                )
                break
            except jwt.ExpiredSignatureError as exc:
                raise Problem(401, "token_expired", "Token sudah kedaluwarsa; silakan masuk kembali.") from exc
            except jwt.InvalidSignatureError:
                continue  # perhaps signed with a previous secret
            except jwt.PyJWTError as exc:
                raise Problem(401, "invalid_token", "Token tidak sah.") from exc
        if claims is None:
            raise Problem(401, "invalid_token", "Token tidak sah.")
        return str(claims["sub"])
