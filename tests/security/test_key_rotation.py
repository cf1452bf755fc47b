"""Rotating the vault secret: sealed personal data stays readable throughout, and afterwards only the new
secret opens it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag

from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from services.kernel.privacy import PersonalDataVault
from tests.conftest import create_database

pytestmark = pytest.mark.integration

OLD = "vault-secret-of-last-year-" + "o" * 20
NEW = "vault-secret-from-today-on-" + "n" * 20
AT = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)


async def test_a_rotation_keeps_sealed_data_readable_and_retires_the_old_secret(infra: InfraAddresses) -> None:
    pool = await create_pool(await create_database(infra, prefix="keys"), min_size=1, max_size=2)
    try:
        before = PersonalDataVault(pool, OLD)
        sealed = [
            await before.seal(f"19950504202101216{n}", "request", {"reason": f"alasan {n}"}, AT) for n in range(3)
        ]

        # Every replica restarts with the new secret and the old one as previous: old data still opens,
        # new data is sealed under the new secret.
        during = PersonalDataVault(pool, NEW, previous=[OLD])
        assert [await during.unseal(s) for s in sealed] == [{"reason": f"alasan {n}"} for n in range(3)]
        fresh = await during.seal("199505042021012169", "request", {"reason": "baru"}, AT)

        assert await during.rewrap() == 3
        assert await during.rewrap() == 0  # idempotent: nothing left under the old secret

        after = PersonalDataVault(pool, NEW)  # the previous secret is dropped
        assert [await after.unseal(s) for s in [*sealed, fresh]] == [
            *({"reason": f"alasan {n}"} for n in range(3)),
            {"reason": "baru"},
        ]
        with pytest.raises(InvalidTag):
            await PersonalDataVault(pool, OLD).unseal(sealed[0])
    finally:
        await pool.close()


async def test_a_destroyed_key_stays_destroyed_through_a_rotation(infra: InfraAddresses) -> None:
    pool = await create_pool(await create_database(infra, prefix="keys"), min_size=1, max_size=2)
    try:
        vault = PersonalDataVault(pool, OLD)
        sealed = await vault.seal("199505042021012163", "location", {"text": "Kambu"}, AT)
        await vault.destroy([sealed.kid])
        rotated = PersonalDataVault(pool, NEW, previous=[OLD])
        assert await rotated.rewrap() == 0
        assert await rotated.unseal(sealed) is None
    finally:
        await pool.close()
