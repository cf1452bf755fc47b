"""Indonesian working days: weekends, public holidays and cuti bersama, from the `holidays` package.

Cuti bersama (collective leave, the package's "government" category) is not a working day and is taken
from annual leave. Everything is cached per year: the what-if simulator runs the evaluator ~100k times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

from contracts.bahasa import day_and_date
from contracts.zones import fixed_zone


@lru_cache(maxsize=64)
def public_holidays(year: int) -> Mapping[date, str]:
    """National public holidays (hari libur nasional) of a year, named in Bahasa Indonesia."""
    found = holidays.country_holidays("ID", years=year, categories=("public",), language="id")
    return MappingProxyType({d: str(name) for d, name in sorted(found.items()) if d.year == year})


@lru_cache(maxsize=64)
def cuti_bersama(year: int) -> Mapping[date, str]:
    """Collective-leave days of a year (e.g. 26 Dec 2025, 'Cuti Bersama Hari Raya Natal')."""
    found = holidays.country_holidays("ID", years=year, categories=("government",), language="id")
    public = public_holidays(year)
    return MappingProxyType({d: str(name) for d, name in sorted(found.items()) if d.year == year and d not in public})


@lru_cache(maxsize=64)
def _non_working(year: int) -> frozenset[date]:
    days = set(public_holidays(year)) | set(cuti_bersama(year))
    start = date(year, 1, 1)
    for offset in range((date(year + 1, 1, 1) - start).days):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            days.add(day)
    return frozenset(days)


def is_working_day(day: date) -> bool:
    return day not in _non_working(day.year)


def working_days(days: Iterable[date]) -> list[date]:
    return [d for d in days if is_working_day(d)]


@lru_cache(maxsize=64)
def count_cuti_bersama(year: int) -> int:
    """Cuti bersama falling on weekdays (a weekend one costs no leave)."""
    return sum(1 for d in cuti_bersama(year) if d.weekday() < 5)


def format_tanggal(day: date) -> str:
    """'Jumat, 26 Desember 2025'."""
    return day_and_date(day)


def non_working_reason(day: date) -> str | None:
    """Why `day` is not a working day, in Bahasa Indonesia, naming the holiday; None for a working day."""
    if is_working_day(day):
        return None
    label = format_tanggal(day)
    if day in public_holidays(day.year):
        return f"{label} adalah hari libur nasional ({public_holidays(day.year)[day]})"
    if day in cuti_bersama(day.year):
        return f"{label} adalah cuti bersama ({cuti_bersama(day.year)[day]})"
    return f"{label} adalah hari libur akhir pekan"


def local_date(moment: date | datetime, timezone: str) -> date:
    """The calendar date of `moment` in the region's zone; a bare date is taken as already local."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("waktu tanpa zona tidak dapat dibandingkan dengan tanggal daerah")
        return moment.astimezone(fixed_zone(timezone)).date()
    return moment
