"""The OPD board: who is where on a day, per unit, and whether vital and direct-service units are staffed. Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from contracts.policy_pack import StaffingMinimum

STATUSES = ("WFO", "WFH", "WFA", "CUTI", "LUAR_NEGERI")
STATUS_LABELS = {
    "WFO": "Di kantor (WFO)",
    "WFH": "WFH",
    "WFA": "WFA",
    "CUTI": "Cuti",
    "LUAR_NEGERI": "Di luar negeri (izin)",
}
TRAVEL_ABROAD = "IZIN_LUAR_NEGERI"
# The public board breaks down only units of at least this many people: in a smaller unit a count says where
# an identifiable person works that day (in a unit of one, exactly who). Smaller units show their size only.
PUBLIC_MIN_GROUP = 5


def unit_staffed(minimum: StaffingMinimum | None, unit_size: int, away: int) -> bool | None:
    """Is the unit staffed as its pack requires? None when the pack sets no minimum for this class of unit."""
    if minimum is None or unit_size == 0:
        return None
    required = 0
    if minimum.min_on_site_ratio is not None:
        required = max(required, math.ceil(minimum.min_on_site_ratio * unit_size))
    if minimum.min_on_site_headcount is not None:
        required = max(required, min(unit_size, minimum.min_on_site_headcount))
    return unit_size - away >= required


@dataclass
class UnitDay:
    unit_code: str
    unit_name: str
    size: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    people: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in STATUSES})
    staffed: bool | None = None
    missed_duties: int = 0
    suppressed: bool = False

    @property
    def away(self) -> int:
        return self.counts["WFH"] + self.counts["WFA"] + self.counts["CUTI"] + self.counts["LUAR_NEGERI"]


@dataclass
class OpdDay:
    opd_code: str
    opd_name: str
    opd_class: str
    units: list[UnitDay] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {s: sum(u.counts[s] for u in self.units) for s in STATUSES}

    @property
    def size(self) -> int:
        return sum(u.size for u in self.units)

    @property
    def understaffed(self) -> list[UnitDay]:
        return [u for u in self.units if u.staffed is False]

    @property
    def suppressed(self) -> int:
        return sum(1 for u in self.units if u.suppressed)


def _status_of(kind: str) -> str:
    if kind == TRAVEL_ABROAD:
        return "LUAR_NEGERI"
    return kind if kind in ("WFH", "WFA") else "CUTI"


def _where(away: Iterable[Any]) -> dict[str, str]:
    """Each person's status that day; a granted trip abroad outranks the leave that covers its working days."""
    where: dict[str, str] = {}
    for a in away:
        status = _status_of(a["kind"])
        if where.get(a["nip"]) != "LUAR_NEGERI":
            where[a["nip"]] = status
    return where


def board_for_day(
    people: Iterable[Any],
    away: Iterable[Any],
    minimum_for: Callable[[str], StaffingMinimum | None],
    missed: dict[str, int] | None = None,
) -> list[OpdDay]:
    """One region's people and that day's approved absences → per OPD, per unit, who is where."""
    where = _where(away)
    opds: dict[str, OpdDay] = {}
    units: dict[tuple[str, str], UnitDay] = {}
    for p in people:
        opd = opds.setdefault(p["opd_code"], OpdDay(p["opd_code"], p["opd_name"], p["opd_class"]))
        key = (p["opd_code"], p["unit_code"])
        if key not in units:
            units[key] = UnitDay(p["unit_code"], p["unit_name"])
            opd.units.append(units[key])
        unit = units[key]
        status = where.get(p["nip"], "WFO")
        unit.size += 1
        unit.counts[status] += 1
        unit.people[status].append(p["name"])
    for opd in opds.values():
        for unit in opd.units:
            unit.staffed = unit_staffed(minimum_for(opd.opd_class), unit.size, unit.away)
            unit.missed_duties = (missed or {}).get(unit.unit_code, 0)
    return sorted(opds.values(), key=lambda o: o.opd_name)


def public_view(opds: Iterable[OpdDay], min_group: int = PUBLIC_MIN_GROUP) -> list[OpdDay]:
    """What the public board may show: no names anywhere, and no breakdown (nor staffing verdict) of a unit
    smaller than `min_group`. Its counts are dropped, not just hidden, so OPD totals and the chart (sums over
    the units) cannot be differenced back to it."""
    shown = []
    for opd in opds:
        units = []
        for u in opd.units:
            small = u.size < min_group
            units.append(
                UnitDay(
                    u.unit_code,
                    u.unit_name,
                    size=u.size,
                    counts=dict.fromkeys(STATUSES, 0) if small else dict(u.counts),
                    people={s: [] for s in STATUSES},
                    staffed=None if small else u.staffed,
                    suppressed=small,
                )
            )
        shown.append(OpdDay(opd.opd_code, opd.opd_name, opd.opd_class, units))
    return shown


def chart_data(opds: Iterable[OpdDay]) -> dict[str, Any]:
    """Counts only (never names): what the stacked bar chart draws, one bar per OPD."""
    rows = list(opds)
    return {
        "labels": [o.opd_name for o in rows],
        "series": [{"key": s, "label": STATUS_LABELS[s], "data": [o.totals[s] for o in rows]} for s in STATUSES],
    }
