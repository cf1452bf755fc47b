"""The what-if report: per request then and under the draft, totals per OPD and per day, staffing minimums.

Built from a `Simulation` once the log is folded; plain JSON values, every list in a fixed order and no
clock read, so the same store and draft give the same bytes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from contracts.common import OpdClass
from contracts.directory import Person
from policy.calendar import is_working_day
from policy.evaluator import staffing_minimum_for
from policy.packs import PackSet
from services.whatif.decision import DECISIVE, differences, side_json
from services.whatif.simulator import Simulation, Tracked

NOTES = (
    "Permohonan yang ditolak kebijakan saat diajukan tidak tersimpan (penolakan tidak menulis peristiwa), "
    "sehingga tidak ikut disimulasikan; yang dinilai ulang hanyalah permohonan yang tercatat.",
    "Keputusan para pejabat (setuju, tolak, kembalikan), pembatalan dan kedaluwarsa diambil apa adanya "
    "dari catatan; hanya keputusan kebijakan yang dinilai ulang.",
    "Permohonan yang ditolak draf tidak memakai kuota unit, hari, maupun cuti di dunia draf, sehingga "
    "permohonan sesudahnya dinilai dengan pemakaian yang akan terjadi menurut draf.",
    "Tidak ada peristiwa yang ditulis; laporan yang sama dihasilkan lagi dari toko peristiwa yang sama "
    "sampai posisi yang sama.",
)
WATCHED_CLASSES = (OpdClass.VITAL.value, OpdClass.DIRECT_SERVICE.value)


def build_report(sim: Simulation, *, items: str = "all", list_all_up_to: int | None = None) -> dict[str, Any]:
    """The whole report as plain JSON values; every list sorted, no clock read.

    `items` says which requests are listed ("all", "changed" or "none"); with `list_all_up_to`, a season
    larger than that lists only its changed requests (`items_listed` says which it is), so an answer over
    HTTP stays a size a browser can take. Totals always count every request.
    """
    draft = sim.draft_pack
    if draft is None:
        raise ValueError("tanpa draf tidak ada laporan; hanya fidelity()")
    index = sim.directory.index
    chosen = [
        t
        for t in sorted(sim.tracked.values(), key=lambda t: t.position)
        # a cut inside a submission's own events leaves it without its recorded decision: not yet in the log
        if sim.in_scope(t.region) and sim.period.overlaps(t.dates) and t.then is not None
    ]
    if items == "all" and list_all_up_to is not None and len(chosen) > list_all_up_to:
        items = "changed"
    rows = []
    summary: Counter[str] = Counter()
    by_opd: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    by_day: dict[date, Counter[str]] = defaultdict(Counter)
    refusal_codes: Counter[str] = Counter()
    for t in chosen:
        changes = differences(t.then, t.draft) if not t.mirrored else []
        changed = bool(DECISIVE.intersection(changes))
        then_out = t.then.outcome if t.then else None
        draft_out = t.draft.outcome if t.draft else None
        newly_refused = then_out == "allowed" and draft_out == "refused"
        newly_allowed = then_out == "refused" and draft_out == "allowed"
        counts = {
            "requests": 1,
            "changed": int(changed),
            "newly_refused": int(newly_refused),
            "newly_allowed": int(newly_allowed),
            "route_changed": int("route" in changes and not newly_refused and not newly_allowed),
        }
        summary.update(counts)
        summary.update({f"{name}_changed": 1 for name in changes if name not in ("outcome", "route")})
        summary[f"then_{then_out}"] += 1
        summary[f"draft_{draft_out}"] += 1
        if t.draft is not None and t.draft.refusal is not None:
            refusal_codes[t.draft.refusal.code] += 1
        by_opd[(t.region, t.opd_code)].update(counts)
        for day in set(t.dates):
            if sim.period.start <= day <= sim.period.end:
                by_day[day].update(counts)
        if items == "all" or (items == "changed" and changed):
            rows.append(_item(sim, t, changes, changed, index.get(t.nip)))

    opd_names = {(p.region, p.opd_code): p.opd_name for p in index.people.values()}
    away_then, away_draft = _away_by_day(sim)
    return {
        "total": len(chosen),
        "items_listed": items,
        "changed": summary["changed"],
        "items": rows,
        "draft": {
            "id": draft.id,
            "version": draft.version,
            "sha256": draft.sha256,
            "region": draft.pack.region,
            "name": draft.pack.name,
        },
        "period": {"from": sim.period.start.isoformat(), "to": sim.period.end.isoformat()},
        "regions": sorted(sim.regions) if sim.regions is not None else None,
        "up_to_position": sim.last_position,
        "summary": {
            "then": {"allowed": summary["then_allowed"], "refused": summary["then_refused"]},
            "draft": {"allowed": summary["draft_allowed"], "refused": summary["draft_refused"]},
            "newly_refused": summary["newly_refused"],
            "newly_allowed": summary["newly_allowed"],
            "route_changed": summary["route_changed"],
            "citations_changed": summary["citations_changed"],
            "quota_changed": summary["quota_changed"],
            "leave_debit_changed": summary["leave_debit_changed"],
            "draft_refusals_by_code": dict(sorted(refusal_codes.items())),
        },
        "by_opd": [
            {"region": region, "opd_code": opd, "opd_name": opd_names.get((region, opd), opd), **_counts(c)}
            for (region, opd), c in sorted(by_opd.items())
        ],
        "by_day": [
            {
                "date": day.isoformat(),
                **_counts(by_day.get(day, Counter())),
                "approved_away_then": away_then.get(day, 0),
                "approved_away_draft": away_draft.get(day, 0),
            }
            for day in sim.period.days()
            if day in by_day or day in away_then or day in away_draft
        ],
        "staffing": _staffing(sim),
        "fidelity": {
            "checked": sim.checked,
            "reproduced": sim.checked - sim.unreproduced,
            "mismatched": sorted(set(sim.mismatched)),
        }
        if sim.verify
        else None,
        "notes": list(NOTES),
    }


def _item(sim: Simulation, t: Tracked, changes: list[str], changed: bool, person: Person | None) -> dict[str, Any]:
    return {
        "request_id": t.request_id,
        "submitted_position": t.position,
        "requester_nip": t.nip,
        "requester_name": t.name,
        "region": t.region,
        "opd_code": t.opd_code,
        "opd_name": person.opd_name if person is not None else None,
        "unit_code": t.unit_code,
        "kind": t.kind.value,
        "dates": [d.isoformat() for d in t.dates],
        "changed": changed,
        "changes": changes,
        "reproduced": t.reproduced,
        "then": side_json(t.then, t.status),
        "draft": side_json(t.draft, t.draft_status) if not t.mirrored else side_json(None, None),
    }


def _away_by_day(sim: Simulation) -> tuple[dict[date, int], dict[date, int]]:
    found: list[dict[date, int]] = []
    for ledger in (sim.real, sim.world):
        away: Counter[date] = Counter()
        for (region, _, day), holders in ledger.unit_days.items():
            if holders and sim.in_scope(region) and sim.period.start <= day <= sim.period.end:
                away[day] += len(holders)
        found.append(dict(away))
    return found[0], found[1]


def _staffing(sim: Simulation) -> dict[str, Any]:
    """Vital and direct-service units whose people on site fall under their pack's minimum on a working day."""
    index = sim.directory.index
    then_packs, draft_packs = sim.packs.current, sim.packs.with_draft
    days = [d for d in sim.period.days() if is_working_day(d)]
    under: dict[str, dict[str, set[tuple[str, str]]]] = {"then": defaultdict(set), "draft": defaultdict(set)}
    per_day: dict[date, dict[str, Counter[str]]] = {}
    units_out = []
    for (region, unit_code), members in sorted(index.units.items()):
        if not members or not sim.in_scope(region):
            continue
        opd_class = members[0].opd_class.value
        if opd_class not in WATCHED_CLASSES:
            continue
        size = len(members)
        need_then = _required_on_site(then_packs, region, opd_class, size)
        need_draft = _required_on_site(draft_packs, region, opd_class, size)
        if need_then is None and need_draft is None:
            continue
        for day in days:
            on_then = size - sim.real.away(region, unit_code, day)
            on_draft = size - sim.world.away(region, unit_code, day)
            short_then = need_then is not None and on_then < need_then
            short_draft = need_draft is not None and on_draft < need_draft
            if not (short_then or short_draft):
                continue
            counts = per_day.setdefault(day, {"then": Counter(), "draft": Counter()})
            if short_then:
                under["then"][opd_class].add((region, unit_code))
                counts["then"][opd_class] += 1
            if short_draft:
                under["draft"][opd_class].add((region, unit_code))
                counts["draft"][opd_class] += 1
            units_out.append(
                {
                    "date": day.isoformat(),
                    "region": region,
                    "opd_code": members[0].opd_code,
                    "unit_code": unit_code,
                    "unit_name": members[0].unit_name,
                    "opd_class": opd_class,
                    "unit_size": size,
                    "required_on_site_then": need_then,
                    "required_on_site_draft": need_draft,
                    "on_site_then": on_then,
                    "on_site_draft": on_draft,
                    "under_then": short_then,
                    "under_draft": short_draft,
                }
            )
    return {
        "then": {c: len(under["then"][c]) for c in WATCHED_CLASSES},
        "draft": {c: len(under["draft"][c]) for c in WATCHED_CLASSES},
        "by_day": [
            {
                "date": day.isoformat(),
                "then": {c: per_day[day]["then"][c] for c in WATCHED_CLASSES},
                "draft": {c: per_day[day]["draft"][c] for c in WATCHED_CLASSES},
            }
            for day in sorted(per_day)
        ],
        "units": sorted(units_out, key=lambda u: (u["date"], u["region"], u["unit_code"])),
    }


def _required_on_site(packs: PackSet, region: str, opd_class: str, size: int) -> int | None:
    loaded = packs.for_region(region)
    rule = staffing_minimum_for(loaded, opd_class) if loaded is not None else None
    if rule is None:
        return None
    need = 0
    if rule.min_on_site_ratio is not None:
        need = math.ceil(size * rule.min_on_site_ratio - 1e-9)
    if rule.min_on_site_headcount is not None:
        need = max(need, min(size, rule.min_on_site_headcount))
    return need


def _counts(c: Counter[str]) -> dict[str, int]:
    return {
        "requests": c["requests"],
        "changed": c["changed"],
        "newly_refused": c["newly_refused"],
        "newly_allowed": c["newly_allowed"],
        "route_changed": c["route_changed"],
    }
