"""The what-if simulation against a real Postgres event store: reading, splitting the work, writing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.bench.whatif import bitung_quarter_cap_draft, bulk_load, simulation_bench
from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from policy.bundled import bundled_pack_texts
from policy.packs import load_pack
from services.audit.service import verify_store
from services.whatif.commands import report_bytes
from services.whatif.service import SimulationSpec, simulate
from services.whatif.simulator import Period
from services.whatif.synthetic import SEASON, SeasonWriter, synthetic_directory
from tests.conftest import create_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def season_db(infra: InfraAddresses) -> AsyncIterator[str]:
    url = await create_database(infra, prefix="whatif")
    people = synthetic_directory(120, regions=("bitung", "kendari"), unit_size=5)
    writer = SeasonWriter(people, list(bundled_pack_texts().values()), seed=11)
    await bulk_load(url, writer.events(600))
    yield url


@pytest.fixture
async def pool(season_db: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(season_db, min_size=1, max_size=2)
    yield created
    await created.close()


async def test_the_loaded_season_is_a_valid_store(pool: asyncpg.Pool) -> None:
    report = await verify_store(pool)
    assert report.ok, report.as_dict()
    assert report.events_checked > 600 * 3


async def test_checking_fidelity_in_a_second_process_gives_the_same_report(season_db: str, pool: asyncpg.Pool) -> None:
    head = await pool.fetchval("SELECT max(position) FROM events")
    counts = await pool.fetchval("SELECT count(*) FROM rm_requests")
    spec = SimulationSpec(
        draft=load_pack(bitung_quarter_cap_draft()), period=Period(*SEASON), regions=frozenset({"bitung"})
    )
    together = await simulate(pool, spec)
    split = await simulate(pool, spec, database_url=season_db, parallel=True)

    assert report_bytes(together) == report_bytes(split)
    assert together["fidelity"]["checked"] > 0 and together["fidelity"]["mismatched"] == []
    assert together["total"] > 0 and together["up_to_position"] == head
    # nothing was written: not an event, not a read-model row
    assert await pool.fetchval("SELECT max(position) FROM events") == head
    assert await pool.fetchval("SELECT count(*) FROM rm_requests") == counts


async def test_a_report_up_to_an_earlier_position_ignores_what_came_later(pool: asyncpg.Pool) -> None:
    head = await pool.fetchval("SELECT max(position) FROM events")
    spec = SimulationSpec(draft=load_pack(bundled_pack_texts()["kendari.yaml"]), period=Period(*SEASON), regions=None)
    whole = await simulate(pool, spec)
    halfway = await simulate(
        pool,
        SimulationSpec(draft=spec.draft, period=spec.period, regions=None, up_to_position=head // 2),
    )
    assert halfway["up_to_position"] == head // 2
    assert 0 < halfway["total"] < whole["total"]
    assert halfway["fidelity"]["mismatched"] == []


async def test_the_benchmark_reports_its_figures(infra: InfraAddresses) -> None:
    figures = await simulation_bench(300, database_url=infra.database_url)
    assert figures["requests_recorded"] == 300 == figures["requests_in_report"]
    assert figures["fidelity_mismatched"] == 0 and figures["fidelity_checked"] >= 300
    assert figures["simulation_seconds"] > 0 and figures["events_in_store"] > 300 * 3
    admin = await asyncpg.connect(infra.database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        left = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname LIKE 'whatif_bench_%'")
    finally:
        await admin.close()
    assert left == 0, "the benchmark drops its database"
