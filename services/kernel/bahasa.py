"""Dates and times the way Indonesian letters and messages write them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from contracts.bahasa import MONTH_NAMES, long_date
from contracts.zones import zone_label

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def _join(parts: list[str], last: str = "dan") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]


def dates_text(days: Iterable[date]) -> str:
    """'29, 30 dan 31 Desember 2025'; '29 dan 31 Desember 2025 serta 2 Januari 2026'."""
    ordered = sorted(set(days))
    groups: list[tuple[int, int, list[int]]] = []
    for day in ordered:
        if groups and groups[-1][0] == day.year and groups[-1][1] == day.month:
            groups[-1][2].append(day.day)
        else:
            groups.append((day.year, day.month, [day.day]))
    parts = []
    for index, (year, month, numbers) in enumerate(groups):
        same_year_follows = index + 1 < len(groups) and groups[index + 1][0] == year
        suffix = MONTH_NAMES[month - 1] if same_year_follows else f"{MONTH_NAMES[month - 1]} {year}"
        parts.append(f"{_join([str(n) for n in numbers])} {suffix}")
    return _join(parts, "serta")


def date_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive calendar days folded into (first, last) ranges."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][1]).days == 1:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def period_text(days: Iterable[date]) -> str:
    """'mulai tanggal 29 Desember 2025 s.d. 31 Desember 2025', or the dates themselves when not contiguous."""
    ordered = sorted(set(days))
    ranges = date_ranges(ordered)
    if len(ranges) == 1 and ranges[0][0] != ranges[0][1]:
        return f"terhitung mulai tanggal {long_date(ranges[0][0])} s.d. {long_date(ranges[0][1])}"
    return f"pada tanggal {dates_text(ordered)}"


def local_datetime(value: datetime, zone: str) -> str:
    """'22 Desember 2025 pukul 09.00 WITA'."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{long_date(local.date())} pukul {local:%H.%M} {zone_label(zone)}"


def local_date(value: datetime, zone: str) -> date:
    return value.astimezone(ZoneInfo(zone)).date()
