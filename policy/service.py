"""Length of continuous service (masa kerja), from the directory's `service_start` or a PNS NIP's TMT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.directory import Person


@dataclass(frozen=True)
class ServiceLength:
    years: int
    months: int

    def label(self) -> str:
        """As the leave form writes it: "12 tahun 3 bulan"."""
        return f"{self.years} tahun {self.months} bulan"


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (0 when `end` is earlier)."""
    months = (end.year - start.year) * 12 + (end.month - start.month) - (1 if end.day < start.day else 0)
    return max(months, 0)


def service_length(person: Person, on: date) -> ServiceLength | None:
    """Continuous service on `on`, or None when neither `service_start` nor a TMT is known (PPPK, no start)."""
    start = person.service_since
    if start is None:
        return None
    months = months_between(start, on)
    return ServiceLength(years=months // 12, months=months % 12)


def years_of_service(person: Person, on: date) -> int | None:
    length = service_length(person, on)
    return length.years if length is not None else None
