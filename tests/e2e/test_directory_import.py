"""Directory import over HTTP: all-or-nothing, row-numbered errors, no-op re-import, changes as events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.bench.workload import bench_directory
from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack

pytestmark = pytest.mark.e2e
KENDARI_ADMIN = "199702202019041158"
BITUNG_ADMIN = "199410112018092039"
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def count_events(stack: RunningStack, event_type: str) -> int:
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE type = $1", event_type))
    finally:
        await conn.close()


async def test_reimporting_the_same_file_changes_nothing(stack: RunningStack) -> None:
    before = await count_events(stack, "DirectoryImported")
    async with await stack.as_user(KENDARI_ADMIN) as admin:
        r = await admin.post("/api/admin/directory", content=SAMPLE_DIRECTORY.read_bytes(), headers=CSV)
    assert r.status_code == 200, r.text
    assert r.json()["unchanged"] is True and r.json()["rows"] == 191
    assert await count_events(stack, "DirectoryImported") == before


async def test_a_bad_row_refuses_the_whole_file_with_its_row_number(stack: RunningStack) -> None:
    text = SAMPLE_DIRECTORY.read_text().rstrip("\n").split("\n")
    text[171] = text[171].replace(",PNS,", ",HONORER,")  # row 172 (header is row 1)
    text.append("123,Tanpa NIP,PNS,kendari,DISHUB,Dinas Perhubungan,vital,DISHUB-U1,Bidang 1,,")
    before = await count_events(stack, "DirectoryImported")
    async with await stack.as_user(KENDARI_ADMIN) as admin:
        r = await admin.post("/api/admin/directory", content="\n".join(text).encode(), headers=CSV)
    assert r.status_code == 422 and r.json()["code"] == "directory_invalid"
    rows = [e["row"] for e in r.json()["errors"]]
    assert rows == [172, 193]
    assert await count_events(stack, "DirectoryImported") == before


async def test_changes_become_one_event_and_only_for_the_admins_region(stack: RunningStack) -> None:
    lines = SAMPLE_DIRECTORY.read_text().rstrip("\n").split("\n")
    renamed = [ln.replace("Putri Teguh,PNS,kendari", "Putri Teguh Ayu,PNS,kendari") for ln in lines]
    added = "199901012023011301,Pegawai Baru,PPPK,kendari,DISHUB,Dinas Perhubungan,vital,DISHUB-U1,Bidang 1,,"
    kendari_change = "\n".join([*renamed, added]) + "\n"
    async with await stack.as_user(BITUNG_ADMIN) as other_admin:
        refused = await other_admin.post("/api/admin/directory", content=kendari_change.encode(), headers=CSV)
        assert refused.status_code == 403 and refused.json()["code"] == "region_forbidden"
    async with await stack.as_user("199505042021012163") as staff:
        assert (
            await staff.post("/api/admin/directory", content=kendari_change.encode(), headers=CSV)
        ).status_code == 403
    before = await count_events(stack, "DirectoryImported")
    async with await stack.as_user(KENDARI_ADMIN) as admin:
        r = await admin.post("/api/admin/directory", content=kendari_change.encode(), headers=CSV)
        assert r.status_code == 200, r.text
        assert (r.json()["added"], r.json()["changed"], r.json()["removed"]) == (1, 1, 0)
        newcomer = await stack.client().post("/api/dev/token", json={"nip": "199901012023011301"})
        assert newcomer.status_code == 200
    assert await count_events(stack, "DirectoryImported") == before + 1
    async with await stack.as_user("199505042021012163") as staff:
        me = await staff.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-31"], "reason": "a b c"})
        assert me.json()["requester"]["name"] == "Putri Teguh Ayu"


async def test_a_whole_pemda_directory_travels_to_the_read_models_and_the_relay_goes_on(infra: InfraAddresses) -> None:
    """4,443 people make a DirectoryImported bigger than one NATS message may be (1 MiB): it travels as a claim
    check, and the relay keeps publishing what follows instead of stalling on it."""
    big = bench_directory(opds=40)
    async with running_stack(infra, await create_database(infra), directory=big.csv) as stack:
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            size = await conn.fetchval(
                "SELECT octet_length(payload::text) FROM events WHERE type = 'DirectoryImported' ORDER BY position DESC"
            )
            assert size > 1024 * 1024
            requester = big.units[0].staff[0]
            async with await stack.as_user(requester) as asn:
                r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Rekap"})
                assert r.status_code == 201, r.text
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                head = await conn.fetchval("SELECT max(position) FROM events")
                relayed = await conn.fetchval("SELECT position FROM relay_cursor")
                if relayed == head:
                    break
                assert asyncio.get_running_loop().time() < deadline, f"relay stuck at {relayed} of {head}"
                await asyncio.sleep(0.2)
            people = await conn.fetchval("SELECT count(*) FROM rm_people WHERE region = 'kendari'")
            assert people == big.csv.count("\n") - 1
        finally:
            await conn.close()
