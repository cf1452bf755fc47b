"""Where the leave form's data comes from: one small function per source, each reading defensively, so a
field a source does not (yet) carry leaves its place on the form blank instead of failing the form.

- the directory (`rm_people`): name, jabatan, pangkat/golongan ruang, unit, start of service;
- the request's sealed personal data: the reason, the address and phone during leave;
- the request's own stream: the decisions of the round, with the dates granted or the deferral;
- the leave record (`rm_leave`, `rm_requests`) and the region's pack: N-2 / N-1 / N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.common import EmployeeType
from contracts.events import request_stream
from contracts.policy_pack import AnnualLeaveRule
from policy.leave import annual_leave_balance, own_unused, tmt_from_nip
from services.documents.leave_form import AnnualRecord, Employee, service_length_text

FORM_EVENT_TYPES = ("RequestSubmitted", "RequestResubmitted", "DecisionRecorded", "RequestDatesChanged")


@dataclass(frozen=True)
class RecordedDecision:
    tier: str
    decision: str
    comment: str | None
    actor: str
    on_behalf_of: str | None
    occurred_at: datetime
    dates: tuple[date, ...]
    defer_until: date | None


def _field(row: Any, name: str) -> Any:
    if row is None:
        return None
    try:
        return row[name]
    except KeyError:
        return None


def employee_from_directory(row: Any, *, nip: str, name: str, position: str, unit: str, on: date) -> Employee:
    """Section I from the directory row; `rank`, `position` and `service_start` are optional columns."""
    start = _field(row, "service_start")
    if isinstance(start, str):
        start = date.fromisoformat(start) if start else None
    if start is None and (_field(row, "employee_type") or "PNS") == "PNS":
        start = tmt_from_nip(nip)
    return Employee(
        name=name,
        nip=nip,
        position=_field(row, "position") or position,
        service_length=service_length_text(start, on),
        unit=unit,
        rank=_field(row, "rank") or "",
    )


def leave_contact(personal: Mapping[str, Any] | None) -> tuple[str, str]:
    """The address and phone during leave, sealed in the request's personal data as `leave_address` and
    `leave_phone` (or, as submitted, a nested `leave: {address, phone}`); blank when absent or erased."""
    if not personal:
        return "", ""
    leave = personal.get("leave")
    nested: Mapping[str, Any] = leave if isinstance(leave, Mapping) else {}
    address = personal.get("leave_address") or nested.get("address") or ""
    phone = personal.get("leave_phone") or nested.get("phone") or ""
    return str(address), str(phone)


def _dates(values: Any) -> tuple[date, ...]:
    return tuple(sorted(date.fromisoformat(str(v)) for v in values or ()))


async def request_events(pool: asyncpg.Pool, request_id: UUID, up_to_position: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT type, payload, actor, on_behalf_of, occurred_at FROM events WHERE stream_id = $1 "
            "AND type = ANY($2::text[]) AND position <= $3 ORDER BY version",
            request_stream(request_id),
            list(FORM_EVENT_TYPES),
            up_to_position,
        )
    )


def sealed_personal(events: list[asyncpg.Record]) -> dict[str, Any] | None:
    """The personal data of the latest submission (a resubmission seals it afresh)."""
    sealed = None
    for event in events:
        if event["type"] in ("RequestSubmitted", "RequestResubmitted") and event["payload"].get("personal"):
            sealed = event["payload"]["personal"]
    return sealed


def requested_dates(events: list[asyncpg.Record], round_: int) -> tuple[date, ...]:
    """The dates the employee asked for in this round (section IV), before any change by an approver."""
    asked: tuple[date, ...] = ()
    for event in events:
        if event["type"] == "RequestSubmitted" or (
            event["type"] == "RequestResubmitted" and int(event["payload"].get("round", 0)) <= round_
        ):
            asked = _dates(event["payload"].get("dates"))
    return asked


def round_decisions(events: list[asyncpg.Record], round_: int) -> list[RecordedDecision]:
    """Every decision recorded in the round, in order; `dates` and `defer_until` are read when present."""
    found = []
    for event in events:
        p = event["payload"]
        if event["type"] != "DecisionRecorded" or int(p.get("round", 1)) != round_:
            continue
        defer_until = p.get("defer_until")
        found.append(
            RecordedDecision(
                tier=p["tier"],
                decision=p["decision"],
                comment=p.get("comment"),
                actor=event["actor"],
                on_behalf_of=event["on_behalf_of"],
                occurred_at=event["occurred_at"],
                dates=_dates(p.get("dates")),
                defer_until=date.fromisoformat(defer_until) if defer_until else None,
            )
        )
    return found


async def leave_used_by_year(pool: asyncpg.Pool, nip: str, excluding: UUID) -> dict[int, int]:
    rows = await pool.fetch(
        "SELECT year, sum(days) AS days FROM rm_leave WHERE nip = $1 AND request_id IS DISTINCT FROM $2 GROUP BY year",
        nip,
        excluding,
    )
    return {int(r["year"]): int(r["days"]) for r in rows}


def annual_record(
    year: int, *, employee_type: EmployeeType, used_by_year: Mapping[int, int], rule: AnnualLeaveRule
) -> AnnualRecord:
    """N-2 / N-1 / N before this request, from the leave arithmetic in `policy/leave.py`."""
    balance = annual_leave_balance(year, employee_type=employee_type, used_by_year=used_by_year, rule=rule)
    last = own_unused(year - 1, used_by_year=used_by_year, rule=rule) or 0
    n1 = min(last, balance.carried_over)
    return AnnualRecord(
        year=year,
        n2=balance.carried_over - n1,
        n1=n1,
        n=max(0, rule.entitlement_days - balance.cuti_bersama),
        used=balance.used,
        available=balance.available,
    )


async def other_leave_taken(pool: asyncpg.Pool, nip: str, year: int, excluding: UUID) -> dict[str, int]:
    """Days of each leave kind granted to the employee in `year`, this request aside."""
    rows = await pool.fetch(
        "SELECT kind, dates FROM rm_requests WHERE requester_nip = $1 AND status = 'APPROVED' "
        "AND request_id IS DISTINCT FROM $2",
        nip,
        excluding,
    )
    taken: dict[str, int] = {}
    for row in rows:
        days = sum(1 for d in row["dates"] if d.year == year)
        if days:
            taken[row["kind"]] = taken.get(row["kind"], 0) + days
    return taken
