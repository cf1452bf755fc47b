"""As-of replay: the approval state rebuilt from events alone as it stood at a moment, and each decision
explained — who (and on behalf of whom), when in the region's local time, under which pack and clause.

Pure: the caller supplies events (from the store or from a bundle). The state is the same fold the live
projection and the rebuild use (`services.approvals.state.ApprovalState`), stopped at the moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from contracts.events import EventEnvelope
from contracts.upcasting import upcast
from contracts.zones import OFFSET_HOURS, fixed_zone
from services.approvals.state import ApprovalState

DECISION_WORDS = {
    ("approve", "approve"): "menyetujui",
    ("approve", "recommend"): "merekomendasikan",
    ("reject", "approve"): "menolak",
    ("reject", "recommend"): "tidak merekomendasikan",
    ("return", "approve"): "mengembalikan untuk diperbaiki",
    ("return", "recommend"): "mengembalikan untuk diperbaiki",
    ("change", "approve"): "menyetujui dengan perubahan tanggal",
    ("change", "recommend"): "mempertimbangkan perubahan tanggal",
    ("defer", "approve"): "menangguhkan",
    ("defer", "recommend"): "mempertimbangkan penangguhan",
}
STATUS_WORDS = {
    "PENDING": "menunggu keputusan",
    "RETURNED": "dikembalikan untuk diperbaiki",
    "APPROVED": "disetujui",
    "REJECTED": "ditolak",
    "CANCELLED": "dibatalkan",
    "EXPIRED": "kedaluwarsa",
    "DEFERRED": "ditangguhkan",
}


def effective_time(event: EventEnvelope) -> datetime:
    """Where an event sits on the time line: when it was recorded, or its simulated time in a drill."""
    if event.clock == "simulated" or event.recorded_at is None:
        return event.occurred_at
    return event.recorded_at


def local_time(value: datetime, zone: str | None) -> str:
    """`29-12-2025 10:15 WITA`; the zones have fixed offsets, so no tz database is needed offline."""
    tz = fixed_zone(zone if zone in OFFSET_HOURS else "Asia/Jakarta")
    local = value.astimezone(tz)
    return f"{local:%d-%m-%Y %H:%M} {tz.tzname(None)}"


_LABEL_ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
ZONE_NAMES = {**_LABEL_ZONES, **{z: z for z in OFFSET_HOURS}}


_QUERY_PLUS = re.compile(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")


def parse_time(text: str, *, zone: str | None = None, end_of_day: bool = False) -> datetime:
    """A moment as people write it: `2025-12-29T10:00:00+08:00`, `…Z`, `2025-12-29 10:00 WITA`, or — local
    to `zone` — `2025-12-29T10:00`; a bare date is the start of that local day (its last microsecond with
    `end_of_day`). Raises ValueError when the zone cannot be known."""
    value = text.strip()
    head, _, label = value.rpartition(" ")
    if label.upper() in _LABEL_ZONES:
        value, zone = head.strip(), _LABEL_ZONES[label.upper()]
    value = _QUERY_PLUS.sub(r"\1+\2", value)  # a "+" in a query string arrives as a space
    if len(value) == 10:
        start = datetime.combine(date.fromisoformat(value), time(0))
        moment = start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        if zone is None:
            raise ValueError(f"{text!r}: sertakan zona waktu (+08:00, Z, WIB, WITA atau WIT)")
        moment = moment.replace(tzinfo=fixed_zone(zone))
    return moment


@dataclass
class Replay:
    state: ApprovalState
    position: int = 0
    as_of: datetime | None = None
    events: int = 0


def fold_until(
    events: Iterable[EventEnvelope],
    *,
    as_of: datetime | None = None,
    up_to: int | None = None,
    replay: Replay | None = None,
) -> Replay:
    """Fold events in position order until the first one after `as_of` (or past position `up_to`)."""
    replay = replay or Replay(state=ApprovalState(), as_of=as_of)
    apply = replay.state.apply
    for event in events:
        if (up_to is not None and event.position > up_to) or (as_of is not None and effective_time(event) > as_of):
            break
        apply(upcast(event))
        replay.position = event.position
        replay.events += 1
    return replay


# -- explaining a request ----------------------------------------------------------------------------------


@dataclass
class Explained:
    position: int
    type: str
    at: datetime
    at_local: str
    actor: dict[str, str | None]
    on_behalf_of: dict[str, str | None] | None
    text: str
    tier: str | None = None
    decision: str | None = None
    comment: str | None = None
    policy: dict[str, Any] | None = None
    citation: dict[str, Any] | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RequestStory:
    request_id: UUID
    status: str | None
    summary: str
    requester: dict[str, str | None]
    kind: str | None
    dates: list[str]
    timezone: str | None
    policy: dict[str, Any] | None
    current_tier: str | None
    decisions: list[Explained]
    timeline: list[Explained]

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["request_id"] = str(self.request_id)
        out["decisions"] = [d.as_dict() for d in self.decisions]
        out["timeline"] = [t.as_dict() for t in self.timeline]
        return out


def _person(state: ApprovalState, nip: str | None) -> dict[str, str | None]:
    if nip is None:
        return {"nip": None, "name": None}
    row = state["rm_people"].get(nip)
    name = row["name"] if row is not None else ("sistem" if nip == "system" else None)
    return {"nip": nip, "name": name}


def _who(person: dict[str, str | None]) -> str:
    if person["nip"] == "system":
        return "Sistem"
    return f"{person['name'] or 'NIP'} ({person['nip']})" if person["name"] else f"NIP {person['nip']}"


def _cite(citation: dict[str, Any] | None) -> str:
    if not citation:
        return ""
    return f" — dasar: {citation.get('source')}, aturan {citation.get('rule_id')}: {citation.get('clause')}"


def _pack(policy: dict[str, Any] | None) -> str:
    return f" [paket {policy['id']} versi {policy['version']}]" if policy else ""


def explain_request(state: ApprovalState, stream: Iterable[EventEnvelope]) -> RequestStory | None:
    """The request's story from its own stream (already cut at the moment), with names as of that moment."""
    events = [upcast(e) for e in stream]
    if not events:
        return None
    first = events[0].payload
    request_id = UUID(str(first["request_id"]))
    row = state["rm_requests"].get(request_id)
    zone: str | None = row["timezone"] if row is not None else None
    routes: dict[int, list[dict[str, Any]]] = {}
    tasks: dict[str, dict[str, Any]] = {}
    timeline: list[Explained] = []
    decisions: list[Explained] = []
    for e in events:
        p = e.payload
        if e.type == "RouteDetermined":
            zone = p.get("timezone") or zone
        actor = _person(state, e.actor)
        behalf = _person(state, e.on_behalf_of) if e.on_behalf_of else None
        policy = e.policy.model_dump(mode="json") if e.policy else None
        item = Explained(
            position=e.position,
            type=e.type,
            at=e.occurred_at,
            at_local=local_time(e.occurred_at, zone),
            actor=actor,
            on_behalf_of=behalf,
            text="",
            policy=policy,
        )
        by = _who(actor) + (f" atas nama {_who(behalf)}" if behalf else "")
        if e.type == "RequestSubmitted":
            item.text = f"{by} mengajukan {p['kind']} untuk {', '.join(p['dates'])}{_pack(policy)}"
        elif e.type == "RouteDetermined":
            routes[int(p.get("round", 1))] = p["route"]
            steps = " → ".join(
                f"{s['tier']} ({s['approver_name']}{', Plt' if s.get('on_behalf_of') else ''})" for s in p["route"]
            )
            item.text = f"Rute ditetapkan: {steps}{_pack(policy)}"
            item.citations = list(p.get("citations", []))
        elif e.type == "TaskAssigned":
            tasks[p["task_id"]] = p
            assignee = _person(state, p["assignee_nip"])
            item.tier = p["tier"]
            item.text = f"Tugas tahap {p['tier']} diberikan kepada {_who(assignee)}"
        elif e.type == "TaskEscalated":
            item.tier = p["tier"]
            item.text = (
                f"Tugas tahap {p['tier']} dieskalasi dari {_who(_person(state, p['from_nip']))} "
                f"ke {_who(_person(state, p['to_nip']))} ({p['reason']}){_cite(p.get('citation'))}"
            )
            item.citation = p.get("citation")
        elif e.type == "DecisionRecorded":
            # The route of the decision's round (a resubmission may have been routed anew).
            route = routes.get(int(p["round"])) or (routes[max(routes)] if routes else [])
            route_step = route[int(p["step"])] if int(p["step"]) < len(route) else {}
            action = route_step.get("action", "approve")
            verb = DECISION_WORDS.get((p["decision"], action), p["decision"])
            item.tier = p["tier"]
            item.decision = p["decision"]
            item.comment = p.get("comment")
            item.citation = route_step.get("citation")
            comment = f' dengan catatan "{p["comment"]}"' if p.get("comment") else ""
            item.text = f"{by} {verb} pada tahap {p['tier']}{comment}{_pack(policy)}{_cite(item.citation)}"
            decisions.append(item)
        elif e.type == "RequestReturned":
            item.text = f"Pengajuan dikembalikan pada tahap {p['tier']}: {p['comment']}"
        elif e.type == "RequestResubmitted":
            item.text = f"{by} mengajukan ulang (putaran {p['round']}) untuk {', '.join(p['dates'])}"
        elif e.type == "RequestApproved":
            item.text = f"Pengajuan disetujui; tahap terakhir {p['final_tier']}{_pack(policy)}"
        elif e.type == "RequestRejected":
            reason = f": {p['reason']}" if p.get("reason") else ""
            item.citations = list(p.get("citations", []))
            cites = "".join(_cite(c) for c in item.citations)
            item.text = f"Pengajuan ditolak ({p.get('code', 'rejected_by_approver')}){reason}{cites}"
        elif e.type == "RequestCancelled":
            item.text = f"{by} membatalkan pengajuan" + (" setelah disetujui" if p.get("after_approval") else "")
        elif e.type == "RequestExpired":
            item.text = f"Pengajuan kedaluwarsa: tidak diputus sebelum {p['first_day']}"
        elif e.type == "RequestDatesChanged":
            item.text = (
                f"{by} mengubah tanggal cuti pada tahap {p['tier']}: {', '.join(p['previous_dates'])} menjadi "
                f"{', '.join(p['dates'])} ({p['working_days']} hari kerja)"
            )
        elif e.type == "RequestDeferred":
            item.text = (
                f"{by} menangguhkan cuti tahunan pada tahap {p['tier']} sampai {p['defer_until']}: {p['reason']} "
                f"({p['working_days']} hari kerja dapat digunakan tahun berikutnya)"
            )
        elif e.type == "TaskReminded":
            item.text = f"Pengingat ke-{p.get('reminder', 1)} untuk {_who(_person(state, p['assignee_nip']))}"
        else:
            item.text = e.type
        timeline.append(item)
    status = row["status"] if row is not None else None
    requester = _person(state, first.get("requester_nip"))
    if requester["name"] is None:
        requester["name"] = first.get("requester_name")
    last = timeline[-1]
    summary = (
        f"Per posisi {events[-1].position} ({last.at_local}): pengajuan {first.get('kind')} "
        f"{_who(requester)} {STATUS_WORDS.get(status or '', status or 'tidak diketahui')}"
    )
    if row is not None and row["current_tier"]:
        summary += f", menunggu tahap {row['current_tier']}"
    return RequestStory(
        request_id=request_id,
        status=status,
        summary=summary,
        requester=requester,
        kind=first.get("kind"),
        dates=[str(d) for d in first.get("dates", [])],
        timezone=zone,
        policy=row["policy"] if row is not None else None,
        current_tier=row["current_tier"] if row is not None else None,
        decisions=decisions,
        timeline=timeline,
    )


def request_summaries(state: ApprovalState, *, region: str | None = None) -> list[dict[str, Any]]:
    """Every request in the state (of one region), newest first, as the inspector's overview."""
    rows = [r for r in state["rm_requests"].rows.values() if region is None or r["region"] == region]
    rows.sort(key=lambda r: r["submitted_at"], reverse=True)
    return [
        {
            "request_id": str(r["request_id"]),
            "requester_nip": r["requester_nip"],
            "requester_name": r["requester_name"],
            "opd_code": r["opd_code"],
            "kind": r["kind"],
            "dates": [d.isoformat() for d in r["dates"]],
            "status": r["status"],
            "current_tier": r["current_tier"],
            "decisions": len(r["decisions"]),
            "policy": r["policy"],
            "submitted_at_local": local_time(r["submitted_at"], r["timezone"]),
        }
        for r in rows
    ]
