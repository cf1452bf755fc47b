"""Signed, expiring bearer tokens whose subject is the NIP. A bare NIP is never a credential."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from contracts.common import Role
from contracts.directory import Person
from services.kernel.problems import Problem

ALGORITHM = "HS256"
ISSUER = "lentur"
VERIFIED_CACHE_SIZE = 4096


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

    Tokens are checked with a small leeway for clock skew between replicas (exp, nbf and iat alike). A token
    that verified is remembered with its expiry: its signature and claims cannot change, so a caller's next
    request checks only the clock (an approver sends three or four in a row).
    """

    def __init__(
        self,
        secret: str,
        ttl_seconds: int,
        *,
        previous: Sequence[str] = (),
        leeway_seconds: int = 30,
        epoch_seconds: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._previous = tuple(previous)
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds
        self._epoch_seconds = epoch_seconds
        self._verified: dict[str, tuple[str, float]] = {}  # token → (subject, expiry as epoch seconds)

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
        known = self._verified.get(token)
        if known is not None:
            subject, expires = known
            if self._epoch_seconds() <= expires + self._leeway:
                return subject
            del self._verified[token]
            raise Problem(401, "token_expired", "Token sudah kedaluwarsa; silakan masuk kembali.")
        return self._verify(token)

    def _verify(self, token: str) -> str:
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
        subject = str(claims["sub"])
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (subject, float(claims["exp"]))  # type: ignore[arg-type]
        return subject
