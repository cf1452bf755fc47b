"""The personal-data vault against a real Postgres: data keys are created once per person, purpose and month,
whichever process gets there first."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import UTC, datetime

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.events import Sealed
from eventstore.store import PostgresEventStore
from services.kernel.privacy import PersonalDataVault, key_encryption_key

SECRET = "test-master-secret"
NIP = "199505042021012163"
AT = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)


def opened_with(key: bytes, sealed: Sealed) -> dict[str, object]:
    nonce, ct = base64.b64decode(sealed.nonce), base64.b64decode(sealed.ct)
    plaintext = AESGCM(key).decrypt(nonce, ct, sealed.kid.encode())
    result: dict[str, object] = json.loads(plaintext)
    return result


async def test_a_first_seal_that_loses_the_race_for_the_months_key_uses_the_key_that_won(
    store: PostgresEventStore, fresh_db: str
) -> None:
    """Another process is storing the month's key when ours tries to: ours waits for it and seals under its key.

    The loser's insert waits on the winner's row; a read in that same statement would still use a snapshot from
    before the winner committed and find no key at all (which once answered a burst of submissions with 500).
    """
    kid = PersonalDataVault.key_id(NIP, "request", AT)
    winner_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    wrapped = nonce + key_encryption_key(SECRET).encrypt(nonce, winner_key, kid.encode())

    other_process = await asyncpg.connect(fresh_db)
    try:
        storing = other_process.transaction()
        await storing.start()
        await other_process.execute(
            "INSERT INTO subject_keys (kid, nip, purpose, period, wrapped_key) VALUES ($1, $2, 'request', $3, $4)",
            kid,
            NIP,
            f"{AT:%Y-%m}",
            wrapped,
        )
        vault = PersonalDataVault(store.pool, SECRET)
        sealing = asyncio.create_task(vault.seal(NIP, "request", {"reason": "Mengantar anak"}, AT))
        for _ in range(500):  # until the vault's insert is waiting on the other process's uncommitted row
            if await store.pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the vault never waited for the other process's key")
        assert not sealing.done()
        await storing.commit()
        sealed = await asyncio.wait_for(sealing, 10)
    finally:
        await other_process.close()

    assert sealed.kid == kid
    assert opened_with(winner_key, sealed) == {"reason": "Mengantar anak"}
    assert await PersonalDataVault(store.pool, SECRET).unseal(sealed) == {"reason": "Mengantar anak"}
    assert await store.pool.fetchval("SELECT count(*) FROM subject_keys WHERE nip = $1", NIP) == 1


async def test_many_first_seals_at_once_from_several_processes_share_one_key(store: PostgresEventStore) -> None:
    """A burst of one person's submissions across replicas: every seal succeeds and every one opens."""
    replicas = [PersonalDataVault(store.pool, SECRET) for _ in range(4)]
    sealed = await asyncio.gather(
        *(replicas[i % 4].seal(NIP, "request", {"reason": f"alasan {i}"}, AT) for i in range(40))
    )
    assert await store.pool.fetchval("SELECT count(*) FROM subject_keys WHERE nip = $1", NIP) == 1
    reader = PersonalDataVault(store.pool, SECRET)
    assert [await reader.unseal(s) for s in sealed] == [{"reason": f"alasan {i}"} for i in range(40)]
