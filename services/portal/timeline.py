"""A request's events as a person reads them: what happened, who did it (and for whom), when. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.bahasa import country_name
from contracts.events import EventEnvelope
from services.portal import labels


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    version: int
    type: str
    label: str
    occurred_at: datetime
    actor: str
    actor_name: str | None
    on_behalf_of: str | None
    on_behalf_of_name: str | None
    details: list[str] = field(default_factory=list)
    hash: str = ""
    prev_hash: str | None = None
    chain_hash: str = ""
    clock: str = "real"


def people_in(events: Iterable[EventEnvelope]) -> set[str]:
    nips: set[str] = set()
    for e in events:
        nips.add(e.actor)
        if e.on_behalf_of:
            nips.add(e.on_behalf_of)
        for key in ("assignee_nip", "to_nip", "from_nip"):
            if isinstance(e.payload.get(key), str):
                nips.add(e.payload[key])
    return nips


def _details(e: EventEnvelope, names: Mapping[str, str]) -> list[str]:
    p: dict[str, Any] = e.payload
    tier = labels.TIER_LABELS.get(str(p.get("tier")), str(p.get("tier", "")))
    if e.type in ("RequestSubmitted", "RequestResubmitted"):
        out = []
        if e.type == "RequestSubmitted":
            out.append(labels.kind_label(str(p.get("kind"))))
        out.append("Tanggal: " + ", ".join(labels.short_date(str(d)) for d in p.get("dates", [])))
        if p.get("country") and p["country"] != "ID":
            out.append(f"Luar negeri ({country_name(p['country'])})")
        return out
    if e.type == "RouteDetermined":
        steps = [labels.TIER_LABELS.get(s["tier"], s["tier"]) for s in p.get("route", [])]
        return ["Alur: " + " → ".join(steps)] if steps else []
    if e.type == "TaskAssigned":
        who = names.get(p.get("assignee_nip", ""), p.get("assignee_name") or p.get("assignee_nip", ""))
        action = labels.ACTION_LABELS.get(p.get("action", "approve"), "")
        return [f"{tier} ({action}): {who}"]
    if e.type == "DecisionRecorded":
        out = [f"{tier}: {labels.DECISION_LABELS.get(p.get('decision', ''), p.get('decision'))}"]
        if p.get("binding"):
            out.append("Pertimbangan mengikat")
        if p.get("dates"):
            out.append("Tanggal: " + ", ".join(labels.short_date(str(d)) for d in p["dates"]))
        if p.get("defer_until"):
            out.append(f"Ditangguhkan sampai {labels.short_date(str(p['defer_until']))}")
        if p.get("comment"):
            out.append(f"Catatan: {p['comment']}")
        return out
    if e.type == "RequestReturned":
        return [f"Oleh {tier}", f"Catatan: {p.get('comment', '')}"]
    if e.type == "RequestDatesChanged":
        return [
            "Tanggal semula: " + ", ".join(labels.short_date(str(d)) for d in p.get("previous_dates", [])),
            "Tanggal diberikan: " + ", ".join(labels.short_date(str(d)) for d in p.get("dates", [])),
            f"{p.get('working_days')} hari kerja",
        ]
    if e.type == "RequestDeferred":
        return [
            f"Sampai {labels.short_date(str(p.get('defer_until')))}",
            f"Alasan: {p.get('reason', '')}",
            f"{p.get('working_days')} hari kerja dapat digunakan tahun berikutnya",
        ]
    if e.type == "RequestRejected":
        out = [p.get("reason") or ""] if p.get("reason") else []
        return out + [f"{c.get('source')} — {c.get('clause')}" for c in p.get("citations", [])]
    if e.type == "RequestCancelled":
        return [f"Alasan: {p['reason']}"] if p.get("reason") else []
    if e.type == "TaskEscalated":
        return [
            f"Dari {names.get(p.get('from_nip', ''), '')} ke {names.get(p.get('to_nip', ''), '')}: {p.get('reason')}"
        ]
    if e.type in ("QuotaReserved", "QuotaReleased", "QuotaConsumed") and p.get("days") is not None:
        return [f"{p.get('days')} hari"]
    return []


def timeline(events: Iterable[EventEnvelope], names: Mapping[str, str]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            position=e.position,
            version=e.version,
            type=e.type,
            label=labels.EVENT_LABELS.get(e.type, e.type),
            occurred_at=e.occurred_at,
            actor=e.actor,
            actor_name=names.get(e.actor) if e.actor != "system" else "Sistem",
            on_behalf_of=e.on_behalf_of,
            on_behalf_of_name=names.get(e.on_behalf_of) if e.on_behalf_of else None,
            details=_details(e, names),
            hash=e.hash,
            prev_hash=e.prev_hash,
            chain_hash=e.chain_hash,
            clock=e.clock,
        )
        for e in events
    ]
