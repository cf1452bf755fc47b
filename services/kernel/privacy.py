"""Sealing personal data (reasons, work plans, locations) under per-person, per-month keys.

Events carry only ciphertext; a key destroyed after the retention period erases what it sealed while every
hash in the chain still verifies (UU 27/2022: minimal, purposeful, limited in time).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.events import SYSTEM_ACTOR, PersonalDataErased, Sealed
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from runtime.clock import Clock

log = structlog.get_logger(__name__)

ERASED = "[data pribadi telah dihapus sesuai masa retensi]"
ASK_THE_TABLE = object()  # PersonalDataVault.unseal: no wrapped key was read with the sealed data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_encryption_key(master_secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(("lentur-kek|" + master_secret).encode()).digest())


def _unwrap(keks: list[AESGCM], blob: bytes, kid: str) -> tuple[bytes, int]:
    """The data key and the index of the key-encryption key that opened it."""
    for index, kek in enumerate(keks):
        try:
            return kek.decrypt(blob[:12], blob[12:], kid.encode()), index
        except InvalidTag:
            continue
    raise InvalidTag(f"no key-encryption key opens {kid}")


class PersonalDataVault:
    """Data keys are wrapped with a key-encryption key derived from the vault secret. During a rotation the
    previous secrets still unwrap (`lentur keys rewrap` then re-wraps everything under the current one)."""

    def __init__(self, pool: asyncpg.Pool, master_secret: str, *, previous: Sequence[str] = ()) -> None:
        self.pool = pool
        self._kek = key_encryption_key(master_secret)
        self._keks = [self._kek, *(key_encryption_key(old) for old in previous)]
        # Only keys this process created are cached (for sealing); reads always ask the table, because the
        # retention job in another process may have destroyed a key since.
        self._cache: dict[str, bytes | None] = {}

    @staticmethod
    def key_id(nip: str, purpose: str, at: datetime) -> str:
        return f"{nip}:{purpose}:{at:%Y-%m}"

    async def _key(self, kid: str, *, create: bool) -> bytes | None:
        if create and kid in self._cache:
            return self._cache[kid]
        if create:
            nip, purpose, period = kid.split(":")
            key = AESGCM.generate_key(bit_length=256)
            nonce = os.urandom(12)
            wrapped = nonce + self._kek.encrypt(nonce, key, kid.encode())
            created = await self.pool.fetchval(
                "INSERT INTO subject_keys (kid, nip, purpose, period, wrapped_key) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (kid) DO NOTHING RETURNING true",
                kid,
                nip,
                purpose,
                period,
                wrapped,
            )
            if created:
                self._cache[kid] = key
                return key
        # Another process stored the key first (or it was destroyed). This must be a statement of its own: when
        # the insert above waited for a concurrent inserter, its own snapshot predates that row's commit, so a
        # read inside the same statement would not see the key that won.
        row = await self.pool.fetchrow("SELECT wrapped_key FROM subject_keys WHERE kid = $1", kid)
        stored = self._opened(row["wrapped_key"] if row is not None else None, kid)
        if create and stored is not None:
            self._cache[kid] = stored
        return stored

    def _opened(self, wrapped: bytes | None, kid: str) -> bytes | None:
        """The data key a stored `wrapped_key` holds; None when it was destroyed (or never stored)."""
        if wrapped is None:
            return None
        key, _ = _unwrap(self._keks, bytes(wrapped), kid)
        return key

    async def seal(self, nip: str, purpose: str, data: dict[str, Any], at: datetime) -> Sealed:
        kid = self.key_id(nip, purpose, at)
        key = await self._key(kid, create=True)
        if key is None:
            raise RuntimeError(f"key {kid} was destroyed; cannot seal new data under it")
        nonce = os.urandom(12)
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, kid.encode())
        return Sealed(kid=kid, nonce=_b64(nonce), ct=_b64(ciphertext))

    async def unseal(
        self, sealed: Sealed | dict[str, Any] | None, *, wrapped_key: bytes | None | object = ASK_THE_TABLE
    ) -> dict[str, Any] | None:
        """The sealed data, or None when its key has been destroyed.

        `wrapped_key` is the key's `subject_keys.wrapped_key` when the caller read it in the same statement as
        the sealed data (None: destroyed or never stored); otherwise the table is asked now."""
        if sealed is None:
            return None
        if isinstance(sealed, dict):
            sealed = Sealed.model_validate(sealed)
        if wrapped_key is ASK_THE_TABLE:
            key = await self._key(sealed.kid, create=False)
        else:
            key = self._opened(wrapped_key, sealed.kid)  # type: ignore[arg-type]
        if key is None:
            return None
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ct), sealed.kid.encode()
        )
        data: dict[str, Any] = json.loads(plaintext)
        return data

    async def destroy(
        self, kids: list[str], *, conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy | None = None
    ) -> list[str]:
        rows = await (conn or self.pool).fetch(
            "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = now() "
            "WHERE kid = ANY($1::text[]) AND destroyed_at IS NULL RETURNING kid",
            kids,
        )
        for kid in kids:
            self._cache[kid] = None
        return [r["kid"] for r in rows]

    async def rewrap(self, *, batch: int = 500) -> int:
        """Re-wrap every live data key that a previous secret wrapped under the current one; returns how many."""
        rewrapped = 0
        after = ""
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "SELECT kid, wrapped_key FROM subject_keys WHERE wrapped_key IS NOT NULL AND kid > $1 "
                    "ORDER BY kid LIMIT $2 FOR UPDATE",
                    after,
                    batch,
                )
                if not rows:
                    return rewrapped
                for row in rows:
                    key, index = _unwrap(self._keks, bytes(row["wrapped_key"]), row["kid"])
                    if index == 0:
                        continue
                    nonce = os.urandom(12)
                    await conn.execute(
                        "UPDATE subject_keys SET wrapped_key = $2 WHERE kid = $1",
                        row["kid"],
                        nonce + self._kek.encrypt(nonce, key, row["kid"].encode()),
                    )
                    rewrapped += 1
                after = rows[-1]["kid"]

    async def live_purposes(self) -> list[str]:
        rows = await self.pool.fetch("SELECT DISTINCT purpose FROM subject_keys WHERE destroyed_at IS NULL")
        return sorted(r["purpose"] for r in rows)

    async def expired_keys(self, purpose: str, before_period: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT kid FROM subject_keys WHERE purpose = $1 AND period < $2 AND destroyed_at IS NULL ORDER BY kid",
            purpose,
            before_period,
        )
        return [r["kid"] for r in rows]


# -- retention: crypto-shredding what is past its period ----------------------------------------------------

ERASURE_STREAM = "privacy-erasure"


def cutoff_period(now: datetime, months: int) -> str:
    """Keys of months before this one are past retention: a month's data is kept `months` whole months."""
    index = now.year * 12 + (now.month - 1) - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# A purpose whose retention a policy pack sets carries it in its keys' purpose: "location-90d".
_PACK_RETENTION = re.compile(r"^[a-z]+-(\d+)d$")


def purpose_kept_for(purpose: str, days: int | None) -> str:
    """The purpose to seal under when a pack keeps this data `days` days (None: the settings' months)."""
    return f"{purpose}-{days}d" if days else purpose


def cutoff_period_days(now: datetime, days: int) -> str:
    """Keys of months before the month of `now - days` are past retention: every day they sealed is at least
    `days` days old."""
    return f"{now - timedelta(days=days):%Y-%m}"


@dataclass
class ErasureResult:
    destroyed: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    cutoffs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "destroyed": len(self.destroyed),
            "key_ids": self.destroyed,
            "positions": self.positions,
            "cutoffs": self.cutoffs,
        }


async def erase_expired(
    vault: PersonalDataVault,
    store: PostgresEventStore,
    *,
    now: datetime,
    retention_months: dict[str, int],
    clock_mode: str = "real",
    actor: str = SYSTEM_ACTOR,
    dry_run: bool = False,
) -> ErasureResult:
    """Destroy every key past its purpose's retention, one `PersonalDataErased` per region.

    Keys are destroyed in a transaction that commits only after the event is stored, so an erasure is
    never done without its record; if the commit itself failed, the next run finds the keys and does both
    again.
    """
    result = ErasureResult()
    expired: list[str] = []
    kept_for: list[str] = []
    for purpose, months in sorted(retention_months.items()):
        cutoff = cutoff_period(now, months)
        result.cutoffs[purpose] = cutoff
        expired += await vault.expired_keys(purpose, cutoff)
        kept_for.append(f"{purpose} {months} bulan")
    for purpose in await vault.live_purposes():
        match = _PACK_RETENTION.match(purpose)
        if match is None or purpose in retention_months:
            continue
        cutoff = cutoff_period_days(now, int(match.group(1)))
        result.cutoffs[purpose] = cutoff
        expired += await vault.expired_keys(purpose, cutoff)
        kept_for.append(f"{purpose.rsplit('-', 1)[0]} {match.group(1)} hari (paket kebijakan)")
    if not expired or dry_run:
        result.destroyed = expired
        return result
    nips = sorted({kid.split(":", 1)[0] for kid in expired})
    regions = {
        r["nip"]: r["region"]
        for r in await vault.pool.fetch("SELECT nip, region FROM rm_people WHERE nip = ANY($1::text[])", nips)
    }
    by_region: dict[str | None, list[str]] = {}
    for kid in expired:
        by_region.setdefault(regions.get(kid.split(":", 1)[0]), []).append(kid)
    reason = "masa retensi berakhir: " + ", ".join(kept_for)
    for region, kids in sorted(by_region.items(), key=lambda item: item[0] or ""):
        async with vault.pool.acquire() as conn, conn.transaction():
            destroyed = await vault.destroy(kids, conn=conn)
            if not destroyed:
                continue
            payload = PersonalDataErased(key_ids=sorted(destroyed), reason=reason, region=region)
            event_id = uuid.uuid4()
            appended = await store.append(
                AppendUnit(
                    [
                        NewEvent.of(
                            payload,
                            event_id=event_id,
                            stream_id=ERASURE_STREAM,
                            occurred_at=now,
                            actor=actor,
                            correlation_id=str(event_id),
                            clock=clock_mode,
                        )
                    ]
                )
            )
        result.destroyed += destroyed
        result.positions.append(appended[0].position)
        log.info("personal_data_erased", keys=len(destroyed), region=region, position=appended[0].position)
    return result


async def run_retention(
    vault: PersonalDataVault,
    store: PostgresEventStore,
    clock: Clock,
    stop: asyncio.Event,
    *,
    retention_months: dict[str, int],
    every_seconds: float,
) -> None:
    """The projector's periodic retention job."""
    while not stop.is_set():
        try:
            await erase_expired(vault, store, now=clock.now(), retention_months=retention_months, clock_mode=clock.mode)
        except Exception as exc:
            log.error("retention_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
