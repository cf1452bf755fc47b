"""Queries over the read models, shaped for the API. Reads only; every write goes through events."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from contracts.common import RequestKind
from contracts.directory import Person
from contracts.evaluation import UsageSnapshot
from policy.directory import DirectoryIndex

ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def person_from_row(row: asyncpg.Record | dict[str, Any]) -> Person:
    return Person(
        nip=row["nip"],
        name=row["name"],
        employee_type=row["employee_type"],
        region=row["region"],
        opd_code=row["opd_code"],
        opd_name=row["opd_name"],
        opd_class=row["opd_class"],
        unit_code=row["unit_code"],
        unit_name=row["unit_name"],
        roles=frozenset(row["roles"]),
        acting_for=row["acting_for"],
        email=row["email"],
        phone=row["phone"],
        rank=row.get("rank"),
        position=row.get("position"),
        service_start=row.get("service_start"),
    )


def local_time(value: datetime | None, zone: str | None) -> str | None:
    if value is None:
        return None
    zone = zone or "Asia/Jakarta"
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%d-%m-%Y %H:%M} {ZONE_LABELS.get(zone, zone)}"


_REQUEST_FOR_VIEW = """
SELECT r.*,
       (SELECT k.wrapped_key FROM subject_keys k WHERE k.kid = r.personal->>'kid') AS view_wrapped_key,
       (SELECT coalesce(jsonb_object_agg(p.nip, p.name), '{}'::jsonb) FROM rm_people p
         WHERE p.nip = ANY(ARRAY(SELECT r.requester_nip
                                 UNION SELECT d->>'actor' FROM jsonb_array_elements(r.decisions) d
                                 UNION SELECT d->>'on_behalf_of' FROM jsonb_array_elements(r.decisions) d))
       ) AS view_names
FROM rm_requests r
WHERE r.request_id = $1
"""


class ReadModels:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._directory: tuple[int, DirectoryIndex] | None = None

    # -- directory ------------------------------------------------------------------------------------

    async def directory_position(self) -> int:
        return int(await self.pool.fetchval("SELECT coalesce(max(position), 0) FROM rm_directory") or 0)

    async def directory(self) -> DirectoryIndex:
        position = await self.directory_position()
        if self._directory is None or self._directory[0] != position:
            rows = await self.pool.fetch("SELECT * FROM rm_people")
            self._directory = (position, DirectoryIndex(person_from_row(r) for r in rows))
        return self._directory[1]

    async def person(self, nip: str) -> Person | None:
        row = await self.pool.fetchrow("SELECT * FROM rm_people WHERE nip = $1", nip)
        return person_from_row(row) if row else None

    async def names(self, nips: set[str]) -> dict[str, str]:
        if not nips:
            return {}
        rows = await self.pool.fetch("SELECT nip, name FROM rm_people WHERE nip = ANY($1::text[])", list(nips))
        return {r["nip"]: r["name"] for r in rows}

    # -- requests -------------------------------------------------------------------------------------

    async def request(self, request_id: UUID) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM rm_requests WHERE request_id = $1", request_id)

    async def request_for_view(self, request_id: UUID) -> asyncpg.Record | None:
        """The request's row with what its view reads besides, in the same statement (one snapshot, one round
        trip instead of three): `view_wrapped_key`, the wrapped key its personal data is sealed under (None
        when destroyed), and `view_names`, the names of the requester and of everyone its decisions name."""
        return await self.pool.fetchrow(_REQUEST_FOR_VIEW, request_id)

    async def requests_of(self, nip: str, limit: int = 200) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT * FROM rm_requests WHERE requester_nip = $1 ORDER BY submitted_at DESC LIMIT $2",
                nip,
                limit,
            )
        )

    async def requests_in_region(self, region: str, limit: int = 200) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT * FROM rm_requests WHERE region = $1 ORDER BY submitted_at DESC LIMIT $2",
                region,
                limit,
            )
        )

    async def task(self, task_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM rm_tasks WHERE task_id = $1", task_id)

    async def task_people(self, request_id: UUID) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT assignee_nip, escalated_to, actor, on_behalf_of FROM rm_tasks WHERE request_id = $1",
            request_id,
        )
        found: set[str] = set()
        for r in rows:
            found.update(v for v in r.values() if v)
        return found

    # -- tasks ----------------------------------------------------------------------------------------

    async def active_delegations_to(self, delegate: str, at: datetime) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT * FROM rm_delegations WHERE delegate_nip = $1 AND NOT revoked "
                "AND valid_from <= $2 AND valid_to > $2",
                delegate,
                at,
            )
        )

    async def open_tasks_for(self, holders: list[str], escalated_to: str) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT t.*, r.requester_name, r.timezone, r.leave_debit FROM rm_tasks t "
                "JOIN rm_requests r USING (request_id) "
                "WHERE t.status = 'open' AND (t.assignee_nip = ANY($1::text[]) OR t.escalated_to = $2) "
                "ORDER BY t.assigned_at, t.task_id",
                holders,
                escalated_to,
            )
        )

    async def unit_load(self, region: str, unit_code: str, days: list[date], unit_size: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT day, kind FROM rm_unit_day WHERE region = $1 AND unit_code = $2 AND day = ANY($3::date[])",
            region,
            unit_code,
            days,
        )
        counts: dict[date, Counter[str]] = {d: Counter() for d in days}
        for r in rows:
            if r["kind"] == RequestKind.IZIN_LUAR_NEGERI:
                continue  # its working days are counted by the leave linked with it
            kind = r["kind"] if r["kind"] in ("WFH", "WFA") else "CUTI"
            counts[r["day"]][kind] += 1
        result = []
        for day in sorted(days):
            c = counts[day]
            away = c["WFH"] + c["WFA"] + c["CUTI"]
            result.append(
                {
                    "date": day,
                    "unit_size": unit_size,
                    "WFO": max(0, unit_size - away),
                    "WFH": c["WFH"],
                    "WFA": c["WFA"],
                    "CUTI": c["CUTI"],
                }
            )
        return result

    async def leave_rows(self, nip: str, year: int) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT * FROM rm_leave WHERE nip = $1 AND year = $2", nip, year))

    async def quota(self, quota: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM rm_quotas WHERE quota = $1", quota)

    # -- usage for the evaluator ------------------------------------------------------------------------

    async def usage_for(self, person: Person, days: list[date], excluding: UUID | None = None) -> UsageSnapshot:
        """Usage the evaluator compares against; `excluding` leaves out a request being resubmitted, so its
        own earlier days and leave reservation do not count against its new version."""
        unit_rows = await self.pool.fetch(
            "SELECT day, count(*) AS n FROM rm_unit_day WHERE region = $1 AND unit_code = $2 "
            "AND day = ANY($3::date[]) AND kind IN ('WFH', 'WFA') GROUP BY day",
            person.region,
            person.unit_code,
            days,
        )
        own = await self.pool.fetch(
            "SELECT kind, dates, status FROM rm_requests "
            "WHERE requester_nip = $1 AND status IN ('APPROVED', 'PENDING', 'RETURNED') "
            "AND request_id IS DISTINCT FROM $2",
            person.nip,
            excluding,
        )
        approved: dict[date, RequestKind] = {}
        pending_flex: set[date] = set()
        for r in own:
            if r["kind"] == RequestKind.IZIN_LUAR_NEGERI:
                continue  # a trip abroad is not a working arrangement: leave or work may share its days
            for d in r["dates"]:
                if r["status"] == "APPROVED":
                    approved[d] = RequestKind(r["kind"])
                elif r["kind"] in ("WFH", "WFA"):
                    pending_flex.add(d)
        leave = await self.pool.fetch(
            "SELECT year, state = 'deferred' AS deferred, sum(days) AS days FROM rm_leave "
            "WHERE nip = $1 AND request_id IS DISTINCT FROM $2 GROUP BY year, state = 'deferred'",
            person.nip,
            excluding,
        )
        # a holder released from their post by an approved CLTN on one of these days (PP 11/2017)
        on_cltn = await self.pool.fetch(
            "SELECT DISTINCT requester_nip FROM rm_requests WHERE region = $1 AND kind = 'CLTN' "
            "AND status = 'APPROVED' AND dates && $2::date[]",
            person.region,
            days,
        )
        return UsageSnapshot(
            unit_flexible_by_date={r["day"]: int(r["n"]) for r in unit_rows},
            own_approved_dates=approved,
            own_pending_flexible_dates=frozenset(pending_flex),
            annual_leave_used={int(r["year"]): int(r["days"]) for r in leave if not r["deferred"]},
            annual_leave_deferred={int(r["year"]): int(r["days"]) for r in leave if r["deferred"]},
            cuti_besar_years=frozenset(d.year for r in own if r["kind"] == "CUTI_BESAR" for d in r["dates"]),
            on_cltn=frozenset(r["requester_nip"] for r in on_cltn) - {person.nip},
        )
