"""A request's answer is built from one statement: its row, the names its decisions show, and the wrapped key its
personal data is sealed under, read together (ReadModels.request_for_view), and the view is the one the separate
reads gave, erased data included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import asyncpg
import pytest

from eventstore.db import create_pool
from services.kernel.privacy import ERASED, PersonalDataVault
from services.kernel.readmodels import ReadModels
from services.requests.views import request_out

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
REQUESTER, HEAD, PLT, OPD_HEAD = (f"1990010100000000{n:02d}" for n in (1, 2, 3, 4))
SECRET = "a vault secret of at least thirty-two characters"


@pytest.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_db, min_size=1, max_size=2)
    for nip, name in ((REQUESTER, "Ani"), (HEAD, "Budi"), (PLT, "Citra"), (OPD_HEAD, "Dedi")):
        await pool.execute(
            "INSERT INTO rm_people (nip, name, employee_type, region, opd_code, opd_name, opd_class, unit_code, "
            "unit_name, roles) VALUES ($1, $2, 'PNS', 'dki', 'o1', 'OPD', 'support', 'u1', 'Unit', ARRAY[]::text[])",
            nip,
            name,
        )
    yield pool
    await pool.close()


async def _request(pool: asyncpg.Pool, vault: PersonalDataVault) -> uuid.UUID:
    request_id = uuid.uuid4()
    sealed = await vault.seal(REQUESTER, "request", {"reason": "merawat orang tua", "work_plan": "laporan"}, AT)
    decision = {
        "task_id": f"{request_id}-r1s0",
        "round": 1,
        "tier": "UNIT_HEAD",
        "decision": "approve",
        "actor": PLT,
        "on_behalf_of": HEAD,
        "decided_at": AT.isoformat(),
    }
    await pool.execute(
        "INSERT INTO rm_requests (request_id, requester_nip, requester_name, region, opd_code, unit_code, kind, "
        "dates, status, round, clock, submitted_at, updated_at, version, last_position, personal, decisions) "
        "VALUES ($1, $2, 'Ani', 'dki', 'o1', 'u1', 'WFH', ARRAY[DATE '2026-12-24'], 'PENDING', 1, 'real', $3, $3, "
        "3, 3, $4, $5)",
        request_id,
        REQUESTER,
        AT,
        sealed.model_dump(mode="json"),
        [decision],
    )
    return request_id


def _container(pool: asyncpg.Pool, vault: PersonalDataVault) -> SimpleNamespace:
    return SimpleNamespace(reads=ReadModels(pool), vault=vault)


async def test_one_statement_brings_the_names_and_the_key_and_the_view_is_the_same(pool: asyncpg.Pool) -> None:
    vault = PersonalDataVault(pool, SECRET)
    request_id = await _request(pool, vault)
    c = _container(pool, vault)
    row = await c.reads.request_for_view(request_id)
    assert row is not None
    assert row["view_names"] == {REQUESTER: "Ani", HEAD: "Budi", PLT: "Citra"}  # not the OPD head: not named
    assert row["view_wrapped_key"] is not None
    together = await request_out(c, row, None)  # type: ignore[arg-type]
    apart = await request_out(c, await c.reads.request(request_id), None)  # type: ignore[arg-type]
    assert together == apart
    assert together.reason == "merawat orang tua"
    assert (together.decisions[0].actor_name, together.decisions[0].on_behalf_of_name) == ("Citra", "Budi")


async def test_a_destroyed_key_read_with_the_row_shows_the_data_erased(pool: asyncpg.Pool) -> None:
    vault = PersonalDataVault(pool, SECRET)
    request_id = await _request(pool, vault)
    c = _container(pool, vault)
    kid = PersonalDataVault.key_id(REQUESTER, "request", AT)
    assert await vault.destroy([kid]) == [kid]
    row = await c.reads.request_for_view(request_id)
    assert row is not None and row["view_wrapped_key"] is None
    view = await request_out(c, row, None)  # type: ignore[arg-type]
    assert view.reason == ERASED and view.work_plan is None
    assert view == await request_out(c, await c.reads.request(request_id), None)  # type: ignore[arg-type]
