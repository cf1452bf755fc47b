"""What an approval reads stays a lookup however long the deployment has run.

The tables below grow with every request, person and mail; a statement on an approval's path that cannot use
an index reads all of them each time, which no test on a small table notices (the planner scans a small table
anyway). Here they hold tens of thousands of rows, the real statements run, and Postgres' own per-transaction
counters (`pg_stat_xact_user_tables`) say how many rows of each table every one of them went through.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from eventstore.db import create_pool
from runtime.clock import Clock
from services.approvals.projection import load_request_rows
from services.approvals.state import ApprovalState
from services.kernel.readmodels import ReadModels
from services.notifications.dispatcher import _CLAIM_DIGEST, _CLAIM_DUE, _DIGEST_RECIPIENTS, NotificationDispatcher
from services.notifications.projection import load_directory_view

ROWS = 20_000
GROWING = (
    "rm_people",
    "rm_requests",
    "rm_tasks",
    "rm_unit_day",
    "rm_leave",
    "rm_delegations",
    "notifications",
    "notification_deliveries",
)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
DAYS = [date(2026, 12, 24) + timedelta(days=i) for i in range(10)]

# A NIP of 18 digits from a number.
NIP = "('19900101' || lpad(({})::text, 10, '0'))"
# People in 400 units of 50; one in 500 stands in (Plt/Plh) for the head of the next unit. Each has a request
# with two tasks and a flexible day, a year of leave, and three mails that went out long ago.
FILL = [
    f"""INSERT INTO rm_people (nip, name, employee_type, region, opd_code, opd_name, opd_class, unit_code,
        unit_name, roles, acting_for)
    SELECT {NIP.format("g")}, 'Pegawai ' || g, 'PNS', CASE WHEN g % 2 = 0 THEN 'dki' ELSE 'jatim' END,
        'o' || (g % 40), 'OPD', 'support', 'u' || (g / 50), 'Unit',
        CASE WHEN g % 50 = 0 THEN ARRAY['unit_head'] ELSE ARRAY[]::text[] END,
        CASE WHEN g % 500 = 1 THEN {NIP.format("g + 49")} END
    FROM generate_series(0, {ROWS - 1}) g""",
    f"""INSERT INTO rm_requests (request_id, requester_nip, requester_name, region, opd_code, unit_code, kind,
        dates, status, round, clock, submitted_at, updated_at, version, last_position)
    SELECT md5('r' || g)::uuid, {NIP.format("g")}, 'Pegawai ' || g,
        CASE WHEN g % 2 = 0 THEN 'dki' ELSE 'jatim' END, 'o' || (g % 40), 'u' || (g / 50),
        CASE WHEN g % 1000 = 7 THEN 'CLTN' ELSE 'WFH' END, ARRAY[DATE '2026-12-24' + (g % 10)],
        CASE WHEN g % 3 = 0 THEN 'APPROVED' ELSE 'PENDING' END, 1, 'real', now(), now(), 4, g
    FROM generate_series(0, {ROWS - 1}) g""",
    f"""INSERT INTO rm_tasks (task_id, request_id, region, opd_code, unit_code, requester_nip, kind, dates, round,
        step, tier, action, assignee_nip, status, assigned_at)
    SELECT md5('r' || g)::uuid || '-r1s' || s, md5('r' || g)::uuid, 'dki', 'o', 'u' || (g / 50),
        {NIP.format("g")}, 'WFH', ARRAY[DATE '2026-12-24'], 1, s, 'UNIT_HEAD', 'approve',
        {NIP.format("(g / 50) * 50")}, CASE WHEN s = 0 THEN 'decided' ELSE 'open' END, now()
    FROM generate_series(0, {ROWS - 1}) g, generate_series(0, 1) s""",
    f"""INSERT INTO rm_unit_day (region, unit_code, day, kind, request_id, nip)
    SELECT 'dki', 'u' || (g / 50), DATE '2026-12-24' + (g % 10), 'WFH', md5('r' || g)::uuid, {NIP.format("g")}
    FROM generate_series(0, {ROWS - 1}) g""",
    f"""INSERT INTO rm_leave (nip, year, request_id, days, state)
    SELECT {NIP.format("g")}, 2026, md5('r' || g)::uuid, 2, 'consumed' FROM generate_series(0, {ROWS - 1}) g""",
    f"""INSERT INTO rm_delegations (delegation_id, holder_nip, delegate_nip, tiers, valid_from, valid_to, revoked)
    SELECT md5('d' || g)::uuid, {NIP.format("g * 50")}, {NIP.format("g * 50 + 1")}, ARRAY['UNIT_HEAD'],
        now() - interval '30 days', now() - interval '1 day', g % 2 = 0
    FROM generate_series(0, {ROWS // 50 - 1}) g""",
    f"""INSERT INTO notifications (id, event_id, position, recipient_nip, kind, title, body, created_at)
    SELECT md5('n' || g)::uuid, md5('e' || g)::uuid, g, {NIP.format(f"g % {ROWS}")}, 'task_assigned', 'Tugas',
        'Isi', now() - interval '90 days'
    FROM generate_series(0, {3 * ROWS - 1}) g""",
    f"""INSERT INTO notification_deliveries (id, notification_id, recipient_nip, channel, digest, status, attempts,
        next_attempt_at, created_at, sent_at)
    SELECT md5('m' || g)::uuid, md5('n' || g)::uuid, {NIP.format(f"g % {ROWS}")}, 'email', g % 100 = 0, 'sent', 1,
        now() - interval '90 days', now() - interval '90 days', now() - interval '90 days'
    FROM generate_series(0, {3 * ROWS - 1}) g""",
]


@pytest.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_db, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        for statement in FILL:
            await conn.execute(statement)
        await conn.execute("ANALYZE")
    yield pool
    await pool.close()


async def rows_read(conn: asyncpg.Connection, read: Callable[[Any], Awaitable[Any]]) -> dict[str, int]:
    """Rows of each growing table that `read` went through (by scans and by index), in its own transaction."""
    counted = (
        "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n "
        "FROM pg_stat_xact_user_tables WHERE relname = ANY($1::text[])"
    )
    async with conn.transaction():
        # The backend keeps counts of earlier transactions until it reports them: compare before and after.
        before = {r["relname"]: int(r["n"]) for r in await conn.fetch(counted, list(GROWING))}
        await read(conn)
        after = {r["relname"]: int(r["n"]) for r in await conn.fetch(counted, list(GROWING))}
    return {table: n - before.get(table, 0) for table, n in after.items() if n > before.get(table, 0)}


def nip(n: int) -> str:
    return f"19900101{n:010d}"


def request_id(n: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"r{n}".encode()).hexdigest())


def _event(**payload: Any) -> Any:
    return SimpleNamespace(payload=payload)


def _context(n: int) -> Any:
    return SimpleNamespace(requester_nip=nip(n), tasks={}, region="dki", unit_code=f"u{n // 50}")


READS: dict[str, Callable[[Any], Awaitable[Any]]] = {
    "the API reads the principal": lambda conn: ReadModels(conn).person(nip(1234)),
    "the API reads a request": lambda conn: ReadModels(conn).request(request_id(1234)),
    "the API reads a task": lambda conn: ReadModels(conn).task(f"{request_id(1234)}-r1s1"),
    "the API reads a request with its names and key": lambda conn: ReadModels(conn).request_for_view(request_id(1234)),
    "the API reads the names on a request": lambda conn: ReadModels(conn).names({nip(1234), nip(1200), nip(1250)}),
    "the API reads who a request involves": lambda conn: ReadModels(conn).task_people(request_id(1234)),
    "the API reads a delegate's delegations": lambda conn: ReadModels(conn).active_delegations_to(nip(1201), NOW),
    "an approver's inbox": lambda conn: ReadModels(conn).open_tasks_for([nip(1200)], nip(1200)),
    "a requester's own requests": lambda conn: ReadModels(conn).requests_of(nip(1234)),
    "an evaluation reads the usage it compares against": lambda conn: _usage(conn),
    "the read models load a batch's requests": lambda conn: load_request_rows(
        conn, ApprovalState(), [request_id(n) for n in (1, 2, 3, 4000)]
    ),
    "the notifier reads the people a batch names": lambda conn: load_directory_view(
        conn, [_event(assignee_nip=nip(1200), requester_nip=nip(1234))], [_context(1234), _context(5678)]
    ),
    "the dispatcher claims what is due": lambda conn: conn.fetch(_CLAIM_DUE, NOW, 50, LEASE),
    "the dispatcher looks for digests that are due": lambda conn: conn.fetch(_DIGEST_RECIPIENTS, NOW, 50),
    "the dispatcher claims a digest": lambda conn: conn.fetch(_CLAIM_DIGEST, NOW, nip(100), LEASE),
    "the dispatcher counts its outbox": lambda conn: NotificationDispatcher(conn, Clock(NOW)).refresh_gauges(),
}


async def _usage(conn: Any) -> Any:
    reads = ReadModels(conn)
    person = await reads.person(nip(1234))
    assert person is not None
    return await reads.usage_for(person, DAYS[:3])


async def test_no_read_on_an_approvals_path_goes_through_a_growing_table(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        read = {name: await rows_read(conn, read) for name, read in READS.items()}
    # A lookup touches the rows it is about: a request, its tasks, a unit's people, a person's year. A read that
    # went through a hundredth of a table walked it rather than looked anything up.
    assert {name: tables for name, tables in read.items() if max(tables.values(), default=0) > ROWS // 100} == {}


async def test_a_delivery_whose_dispatcher_died_is_claimed_again_when_its_lease_runs_out(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notifications (id, event_id, position, recipient_nip, kind, title, body, created_at) "
            "VALUES ($1, $2, $3, $4, 'task_assigned', 'Tugas', 'Isi', $5)",
            waiting := uuid.uuid4(),
            uuid.uuid4(),
            10 * ROWS,
            nip(7),
            NOW,
        )
        await conn.execute(
            "INSERT INTO notification_deliveries (id, notification_id, recipient_nip, channel, next_attempt_at, "
            "created_at) VALUES ($1, $2, $3, 'email', $4, $4)",
            delivery := uuid.uuid4(),
            waiting,
            nip(7),
            NOW,
        )
        claimed = await conn.fetch(_CLAIM_DUE, NOW, 50, LEASE)
        assert [(r["id"], r["attempts"], r["recipient_name"]) for r in claimed] == [(delivery, 1, "Pegawai 7")]
        # The dispatcher that claimed it dies; another one finds nothing while the lease runs ...
        assert await conn.fetch(_CLAIM_DUE, NOW + LEASE - timedelta(seconds=1), 50, LEASE) == []
        # ... and takes it once the lease has run out: a second attempt.
        again = await conn.fetch(_CLAIM_DUE, NOW + LEASE + timedelta(seconds=1), 50, LEASE)
        assert [(r["id"], r["attempts"]) for r in again] == [(delivery, 2)]
