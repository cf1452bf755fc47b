"""Reads the portal needs beyond the API's: the sign-in list, the inspector's search, the OPD board."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg


async def everyone(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT nip, name, employee_type, region, opd_code, opd_name, opd_class, unit_code, unit_name, roles, "
            "acting_for FROM rm_people ORDER BY region, opd_code, unit_code, name"
        )
    )


async def regions(pool: asyncpg.Pool) -> list[str]:
    return [r["region"] for r in await pool.fetch("SELECT DISTINCT region FROM rm_people ORDER BY region")]


async def opds(pool: asyncpg.Pool, region: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT DISTINCT opd_code, opd_name, opd_class FROM rm_people WHERE region = $1 ORDER BY opd_name",
            region,
        )
    )


async def units_of_opd(pool: asyncpg.Pool, region: str, opd_code: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT DISTINCT unit_code, unit_name FROM rm_people WHERE region = $1 AND opd_code = $2 "
            "ORDER BY unit_code",
            region,
            opd_code,
        )
    )


async def search_requests(
    pool: asyncpg.Pool,
    region: str,
    *,
    nip: str | None = None,
    opd_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[asyncpg.Record]:
    """Requests of a region where the NIP asked or acted, in the OPD, with any event in [since, until)."""
    clauses = ["r.region = $1"]
    args: list[Any] = [region]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if nip:
        p = arg(nip)
        clauses.append(
            f"(r.requester_nip = {p} OR r.request_id IN (SELECT request_id FROM rm_audit_index "
            f"WHERE request_id IS NOT NULL AND (actor = {p} OR on_behalf_of = {p})))"
        )
    if opd_code:
        clauses.append(f"r.opd_code = {arg(opd_code)}")
    if since is not None or until is not None:
        window = ["a.request_id = r.request_id"]
        if since is not None:
            window.append(f"a.occurred_at >= {arg(since)}")
        if until is not None:
            window.append(f"a.occurred_at < {arg(until)}")
        clauses.append(f"EXISTS (SELECT 1 FROM rm_audit_index a WHERE {' AND '.join(window)})")
    sql = (
        "SELECT r.request_id, r.requester_nip, r.requester_name, r.opd_code, r.unit_code, r.kind, r.dates, "
        "r.status, r.submitted_at, r.updated_at, r.last_position FROM rm_requests r "
        f"WHERE {' AND '.join(clauses)} ORDER BY r.submitted_at DESC LIMIT {arg(limit)}"
    )
    return list(await pool.fetch(sql, *args))


async def people_of_region(pool: asyncpg.Pool, region: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT nip, name, opd_code, opd_name, opd_class, unit_code, unit_name FROM rm_people "
            "WHERE region = $1 ORDER BY opd_name, unit_code, name",
            region,
        )
    )


async def away_on(pool: asyncpg.Pool, region: str, day: date) -> list[asyncpg.Record]:
    return list(
        await pool.fetch("SELECT unit_code, kind, nip FROM rm_unit_day WHERE region = $1 AND day = $2", region, day)
    )


async def missed_duties_on(pool: asyncpg.Pool, region: str, day: date) -> dict[str, int]:
    """Missed duties (check-ins, reports, piket attendance) per unit on a day, for the board's mark."""
    rows = await pool.fetch(
        "SELECT unit_code, count(*) AS n FROM rm_duties WHERE region = $1 AND day = $2 AND status = 'missed' "
        "GROUP BY unit_code",
        region,
        day,
    )
    return {r["unit_code"]: int(r["n"]) for r in rows}
