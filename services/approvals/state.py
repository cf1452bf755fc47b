"""The approval state as a pure fold over events.

One reducer serves three callers: the live projector (load the touched rows, apply a batch, save), the
rebuild (fold the whole log in memory, then bulk-write), and the inspector's as-of replay (fold up to a
moment, write nothing). Rows are plain dicts whose keys are the read-model columns.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from contracts.events import EventEnvelope

Key = tuple[Any, ...]
Row = dict[str, Any]


@functools.lru_cache(maxsize=65536)
def _parsed_uuid(text: str) -> UUID:
    return UUID(text)


def as_uuid(value: Any) -> UUID:
    """A request id from a payload as a UUID. A request's id comes with every one of its events; parsing the
    same text again for each was a tenth of a rebuild's fold."""
    return value if isinstance(value, UUID) else _parsed_uuid(str(value))


@dataclass
class Table:
    name: str
    key: tuple[str, ...]
    rows: dict[Key, Row] = field(default_factory=dict)
    dirty: set[Key] = field(default_factory=set)
    deleted: set[Key] = field(default_factory=set)
    # A column whose rows are looked up together (a request's tasks); indexed so a full rebuild stays linear.
    grouped_by: str | None = None
    groups: dict[Any, set[Key]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        getter = operator.itemgetter(*self.key)
        self._key_of: Callable[[Row], Key] = (lambda row: (getter(row),)) if len(self.key) == 1 else getter

    def key_of(self, row: Row) -> Key:
        return self._key_of(row)

    def get(self, *key: Any) -> Row | None:
        return self.rows.get(tuple(key))

    def load(self, row: Row) -> None:
        """A row as stored, read before folding; not a change."""
        key = self.key_of(row)
        self.rows[key] = row
        if self.grouped_by is not None:
            self.groups.setdefault(row[self.grouped_by], set()).add(key)

    def put(self, row: Row) -> Row:
        key = self.key_of(row)
        self.load(row)
        self.dirty.add(key)
        self.deleted.discard(key)
        return row

    def group(self, value: Any) -> list[Row]:
        assert self.grouped_by is not None
        return [self.rows[k] for k in sorted(self.groups.get(value, ()), key=str) if k in self.rows]

    def touch(self, row: Row) -> None:
        self.dirty.add(self.key_of(row))

    def delete(self, *key: Any) -> None:
        row = self.rows.pop(tuple(key), None)
        if row is not None and self.grouped_by is not None:
            self.groups.get(row[self.grouped_by], set()).discard(tuple(key))
        self.dirty.discard(tuple(key))
        self.deleted.add(tuple(key))

    def where(self, predicate: Callable[[Row], bool]) -> list[Row]:
        return [r for r in self.rows.values() if predicate(r)]

    def clear_changes(self) -> None:
        self.dirty.clear()
        self.deleted.clear()


TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "rm_requests": ("request_id",),
    "rm_tasks": ("task_id",),
    "rm_unit_day": ("request_id", "day"),
    "rm_quotas": ("quota",),
    "rm_leave": ("nip", "year", "request_id"),
    "rm_delegations": ("delegation_id",),
    "rm_people": ("nip",),
    "rm_directory": ("id",),
    "rm_policy_packs": ("pack_id", "version"),
    "rm_audit_index": ("position",),
    "rm_duties": ("duty_id",),
    "rm_piket": ("roster_id",),
}

GROUPED_BY = {"rm_tasks": "request_id"}


def _is_piket(payload: dict[str, Any]) -> bool:
    return str(payload.get("subject", "")).startswith("piket:")


class ApprovalState:
    def __init__(self) -> None:
        self.tables = {name: Table(name, key, grouped_by=GROUPED_BY.get(name)) for name, key in TABLE_KEYS.items()}
        self.position = 0

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    # -- the fold ---------------------------------------------------------------------------------------

    def apply_all(self, events: Iterable[EventEnvelope]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: EventEnvelope) -> None:
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event, event.payload)
        self._index(event)
        self.position = event.position

    def _request(self, payload: dict[str, Any]) -> Row | None:
        request_id = payload.get("request_id")
        return self["rm_requests"].get(as_uuid(request_id)) if request_id else None

    def _stamp(self, row: Row, event: EventEnvelope) -> None:
        row["updated_at"] = event.occurred_at
        row["last_position"] = event.position
        if event.stream_id.startswith("request-"):
            row["version"] = event.version
        self["rm_requests"].touch(row)

    def _close_open_tasks(self, request_id: UUID, status: str) -> None:
        tasks = self["rm_tasks"]
        for task in tasks.group(request_id):
            if task["status"] != "open":
                continue
            task["status"] = status
            tasks.touch(task)

    def _on_RequestSubmitted(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_requests"].put(
            {
                "request_id": as_uuid(p["request_id"]),
                "requester_nip": p["requester_nip"],
                "requester_name": p["requester_name"],
                "region": p["region"],
                "opd_code": p["opd_code"],
                "unit_code": p["unit_code"],
                "kind": p["kind"],
                "dates": [date.fromisoformat(d) for d in p["dates"]],
                "country": p.get("country"),
                "personal": p.get("personal"),
                "travel_purpose": p.get("travel_purpose"),
                "linked_request_id": as_uuid(p["linked_request_id"]) if p.get("linked_request_id") else None,
                "status": "PENDING",
                "round": 1,
                "current_step": None,
                "current_tier": None,
                "current_task_id": None,
                "timezone": None,
                "route": [],
                "policy": event.policy.model_dump(mode="json") if event.policy else None,
                "citations": [],
                "caps": [],
                "leave_debit": None,
                "obligations": [],
                "decisions": [],
                "refusal": None,
                "clock": event.clock,
                "submitted_at": event.occurred_at,
                "updated_at": event.occurred_at,
                "version": event.version,
                "last_position": event.position,
            }
        )

    def _on_RouteDetermined(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        row.update(
            route=p["route"],
            citations=p.get("citations", []),
            caps=p.get("caps", []),
            leave_debit=p.get("leave_debit"),
            obligations=p.get("obligations", []),
            timezone=p["timezone"],
            round=p.get("round", row["round"]),
        )
        if event.policy:
            row["policy"] = event.policy.model_dump(mode="json")
        self._stamp(row, event)

    def _on_TaskAssigned(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        self["rm_tasks"].put(
            {
                "task_id": p["task_id"],
                "request_id": row["request_id"],
                "region": row["region"],
                "opd_code": row["opd_code"],
                "unit_code": row["unit_code"],
                "requester_nip": row["requester_nip"],
                "kind": row["kind"],
                "dates": row["dates"],
                "round": p["round"],
                "step": p["step"],
                "tier": p["tier"],
                "action": p.get("action", "approve"),
                "assignee_nip": p["assignee_nip"],
                "escalated_to": None,
                "status": "open",
                "assigned_at": event.occurred_at,
                "remind_at": _dt(p.get("remind_at")),
                "escalate_at": _dt(p.get("escalate_at")),
                "reminders": 0,
                "decision": None,
                "actor": None,
                "on_behalf_of": None,
                "decided_at": None,
            }
        )
        row.update(
            status="PENDING",
            current_step=p["step"],
            current_tier=p["tier"],
            current_task_id=p["task_id"],
        )
        self._stamp(row, event)

    def _on_TaskReminded(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        task = self["rm_tasks"].get(p["task_id"])
        if task is not None:
            task["reminders"] += 1
            self["rm_tasks"].touch(task)

    def _on_TaskEscalated(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        task = self["rm_tasks"].get(p["task_id"])
        if task is None:
            return
        if p["to_tier"] == p["tier"]:
            task["escalated_to"] = p["to_nip"]
        else:
            task["status"] = "escalated"
        self["rm_tasks"].touch(task)

    def _on_DecisionRecorded(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        task = self["rm_tasks"].get(p["task_id"])
        if task is not None:
            task.update(
                status="decided",
                decision=p["decision"],
                actor=event.actor,
                on_behalf_of=event.on_behalf_of,
                decided_at=event.occurred_at,
            )
            self["rm_tasks"].touch(task)
        row = self._request(p)
        if row is None:
            return
        row["decisions"] = [
            *row["decisions"],
            {
                "task_id": p["task_id"],
                "round": p["round"],
                "step": p["step"],
                "tier": p["tier"],
                "decision": p["decision"],
                "comment": p.get("comment"),
                "dates": p.get("dates"),
                "defer_until": p.get("defer_until"),
                "binding": p.get("binding", False),
                "actor": event.actor,
                "on_behalf_of": event.on_behalf_of,
                "decided_at": event.occurred_at.isoformat(),
                "position": event.position,
            },
        ]
        row.update(current_step=None, current_tier=None, current_task_id=None)
        self._stamp(row, event)

    def _on_RequestReturned(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is not None:
            row["status"] = "RETURNED"
            self._stamp(row, event)

    def _on_RequestResubmitted(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        row.update(
            status="PENDING",
            round=p["round"],
            dates=[date.fromisoformat(d) for d in p["dates"]],
            country=p.get("country"),
            personal=p.get("personal"),
        )
        self._stamp(row, event)

    def _on_RequestApproved(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        row.update(status="APPROVED", current_step=None, current_tier=None, current_task_id=None)
        self._stamp(row, event)
        days = self["rm_unit_day"]
        for day in row["dates"]:
            days.put(
                {
                    "region": row["region"],
                    "unit_code": row["unit_code"],
                    "day": day,
                    "kind": row["kind"],
                    "request_id": row["request_id"],
                    "nip": row["requester_nip"],
                }
            )

    def _on_RequestDatesChanged(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        row["dates"] = [date.fromisoformat(d) for d in p["dates"]]
        if row.get("leave_debit"):
            row["leave_debit"] = {**row["leave_debit"], "days": p["working_days"]}
        self._stamp(row, event)

    def _on_RequestDeferred(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self._request(p)
        if row is None:
            return
        self._finish(event, p, "DEFERRED")
        debit = row.get("leave_debit")
        if debit and p.get("working_days"):
            # The deferred days are usable the year after the leave's year (PP 11/2017, cuti ditangguhkan); they
            # sit beside that year's reservations as their own row, so releasing this year's hold leaves them.
            self["rm_leave"].put(
                {
                    "nip": row["requester_nip"],
                    "year": int(debit["year"]) + 1,
                    "request_id": row["request_id"],
                    "days": int(p["working_days"]),
                    "state": "deferred",
                }
            )

    def _finish(self, event: EventEnvelope, p: dict[str, Any], status: str, refusal: Row | None = None) -> None:
        row = self._request(p)
        if row is None:
            return
        row.update(status=status, current_step=None, current_tier=None, current_task_id=None)
        if refusal is not None:
            row["refusal"] = refusal
        self._close_open_tasks(row["request_id"], "closed")
        days = self["rm_unit_day"]
        for day in row["dates"]:
            if days.get(row["request_id"], day) is not None:
                days.delete(row["request_id"], day)
        self._stamp(row, event)

    def _on_RequestRejected(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        refusal = None
        if p.get("code") and p["code"] != "rejected_by_approver":
            refusal = {"code": p["code"], "message": p.get("reason"), "citations": p.get("citations", [])}
        self._finish(event, p, "REJECTED", refusal)

    def _on_RequestCancelled(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._finish(event, p, "CANCELLED")

    def _on_RequestExpired(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._finish(event, p, "EXPIRED")

    def _on_QuotaReserved(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_quotas"].put(
            {"quota": p["quota"], "used": p["used_after"], "limit": p["limit"], "position": event.position}
        )
        if p["quota"].startswith("annual-leave:"):
            # A resubmission that changes the days reserves the new amount before releasing the old one, so
            # a row counts days instead of being replaced.
            _, nip, year = p["quota"].split(":")
            key = (nip, int(year), as_uuid(p["request_id"]))
            row = self["rm_leave"].get(*key)
            self["rm_leave"].put(
                {
                    "nip": nip,
                    "year": int(year),
                    "request_id": key[2],
                    "days": (row["days"] if row is not None else 0) + p["amount"],
                    "state": row["state"] if row is not None else "reserved",
                }
            )

    def _on_QuotaReleased(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_quotas"].put(
            {"quota": p["quota"], "used": p["used_after"], "limit": p["limit"], "position": event.position}
        )
        if p["quota"].startswith("annual-leave:"):
            _, nip, year = p["quota"].split(":")
            key = (nip, int(year), as_uuid(p["request_id"]))
            row = self["rm_leave"].get(*key)
            if row is not None and row["days"] > p["amount"]:
                row["days"] -= p["amount"]
                self["rm_leave"].touch(row)
            else:
                self["rm_leave"].delete(*key)

    def _on_QuotaConsumed(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        if p["quota"].startswith("annual-leave:"):
            _, nip, year = p["quota"].split(":")
            row = self["rm_leave"].get(nip, int(year), as_uuid(p["request_id"]))
            if row is not None:
                row["state"] = "consumed"
                self["rm_leave"].touch(row)

    def _on_DelegationGranted(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_delegations"].put(
            {
                "delegation_id": UUID(p["delegation_id"]),
                "holder_nip": p["holder_nip"],
                "delegate_nip": p["delegate_nip"],
                "tiers": list(p["tiers"]),
                "valid_from": _dt(p["valid_from"]),
                "valid_to": _dt(p["valid_to"]),
                "revoked": False,
            }
        )

    def _on_DelegationRevoked(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        row = self["rm_delegations"].get(UUID(p["delegation_id"]))
        if row is not None:
            row["revoked"] = True
            self["rm_delegations"].touch(row)

    def _on_DirectoryImported(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        people = self["rm_people"]
        regions = {person["region"] for person in p["people"]}
        for row in people.where(lambda r: r["region"] in regions):
            people.delete(row["nip"])
        for person in p["people"]:
            people.put(
                {
                    "nip": person["nip"],
                    "name": person["name"],
                    "employee_type": person["employee_type"],
                    "region": person["region"],
                    "opd_code": person["opd_code"],
                    "opd_name": person["opd_name"],
                    "opd_class": person["opd_class"],
                    "unit_code": person["unit_code"],
                    "unit_name": person["unit_name"],
                    "roles": sorted(person.get("roles", [])),
                    "acting_for": person.get("acting_for"),
                    "email": person.get("email"),
                    "phone": person.get("phone"),
                    "rank": person.get("rank"),
                    "position": person.get("position"),
                    "service_start": _day(person.get("service_start")),
                }
            )
        self["rm_directory"].put({"id": 1, "sha256": p["sha256"], "position": event.position})

    def _on_PolicyPackPublished(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_policy_packs"].put(
            {
                "pack_id": p["pack_id"],
                "version": p["version"],
                "sha256": p["sha256"],
                "region": p.get("region"),
                "text": p["text"],
                "position": event.position,
            }
        )

    # -- duties of approved days and piket ------------------------------------------------------------------

    def _on_DutiesScheduled(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        duties = self["rm_duties"]
        # A roster replaced before its workflow scheduled its duties: they are born superseded.
        roster = self["rm_piket"].get(UUID(p["subject"].removeprefix("piket:"))) if _is_piket(p) else None
        status = "superseded" if roster is not None and roster.get("superseded_by") else "pending"
        for d in p["duties"]:
            duties.put(
                {
                    "duty_id": d["duty_id"],
                    "subject": p["subject"],
                    "request_id": as_uuid(p["request_id"]) if p.get("request_id") else None,
                    "nip": d["nip"],
                    "region": p["region"],
                    "opd_code": p["opd_code"],
                    "unit_code": p["unit_code"],
                    "day": date.fromisoformat(d["day"]),
                    "kind": d["kind"],
                    "label": d["label"],
                    "opens_at": _dt(d["opens_at"]),
                    "closes_at": _dt(d["closes_at"]),
                    "late_allowed": d["late_allowed"],
                    "report_to_nip": d["report_to_nip"],
                    "status": status,
                    "done_at": None,
                    "task_id": None,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "citation": d.get("citation"),
                }
            )

    def _duty_update(self, duty_id: str, **changes: Any) -> None:
        duty = self["rm_duties"].get(duty_id)
        if duty is not None:
            duty.update(changes)
            self["rm_duties"].touch(duty)

    def _on_CheckInRecorded(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._duty_update(p["duty_id"], status="done", done_at=event.occurred_at)

    def _on_ActivityReportSubmitted(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._duty_update(p["duty_id"], status="late" if p.get("late") else "done", done_at=event.occurred_at)

    def _on_ComplianceMissed(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._duty_update(p["duty_id"], status="missed", task_id=p["task_id"])

    def _on_ComplianceAcknowledged(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self._duty_update(p["duty_id"], acknowledged_at=event.occurred_at, acknowledged_by=event.actor)

    def _on_PiketRosterSet(self, event: EventEnvelope, p: dict[str, Any]) -> None:
        self["rm_piket"].put(
            {
                "roster_id": UUID(str(p["roster_id"])),
                "region": p["region"],
                "opd_code": p["opd_code"],
                "unit_code": p["unit_code"],
                "day": date.fromisoformat(p["day"]),
                "nips": list(p["nips"]),
                "set_by": event.actor,
                "superseded_by": None,
            }
        )
        if p.get("supersedes"):
            # The unit head changed the roster: the earlier one and its open duties no longer count.
            earlier = UUID(str(p["supersedes"]))
            old = self["rm_piket"].get(earlier)
            if old is not None:
                old["superseded_by"] = UUID(str(p["roster_id"]))
                self["rm_piket"].touch(old)
            duties = self["rm_duties"]
            for duty in duties.where(lambda d: d["subject"] == f"piket:{earlier}" and d["status"] == "pending"):
                duty["status"] = "superseded"
                duties.touch(duty)

    # -- inspector index --------------------------------------------------------------------------------

    def _index(self, event: EventEnvelope) -> None:
        p = event.payload
        request_id = as_uuid(p["request_id"]) if p.get("request_id") else None
        request = self["rm_requests"].get(request_id) if request_id else None
        subject = None
        region = opd = None
        if request is not None:
            subject, region, opd = request["requester_nip"], request["region"], request["opd_code"]
        elif "holder_nip" in p:
            subject = p["holder_nip"]
            person = self["rm_people"].get(subject)
            if person is not None:
                region, opd = person["region"], person["opd_code"]
        elif "region" in p:  # a pack, or an inspector's read of their region's log
            region = p.get("region")
        elif "region" in p and "unit_code" in p:
            region, opd = p["region"], p.get("opd_code")
        elif "duty_id" in p and (duty := self["rm_duties"].get(p["duty_id"])) is not None:
            subject, region, opd = duty["nip"], duty["region"], duty["opd_code"]
        self["rm_audit_index"].put(
            {
                "position": event.position,
                "stream_id": event.stream_id,
                "type": event.type,
                "actor": event.actor,
                "on_behalf_of": event.on_behalf_of,
                "request_id": request_id,
                "region": region,
                "opd_code": opd,
                "subject_nip": subject,
                "occurred_at": event.occurred_at,
            }
        )


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# Event type → its handler, looked up once rather than by name for every event.
_HANDLERS: dict[str, Callable[[ApprovalState, EventEnvelope, dict[str, Any]], None]] = {
    name.removeprefix("_on_"): handler
    for name, handler in vars(ApprovalState).items()
    if name.startswith("_on_") and callable(handler)
}
