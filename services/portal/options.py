"""What the request form offers a person: the one seam between the portal and the policy packs.

For now the answer is static (the Nataru window of the seeds and the leave kinds of PP 11/2017 / PP 49/2018);
the pack-driven evaluator replaces the body of `form_options` without touching the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from contracts.common import EmployeeType, RequestKind
from contracts.directory import Person
from services.container import Container

KIND_LABELS = {
    RequestKind.WFH: "Kerja dari rumah (WFH)",
    RequestKind.WFA: "Kerja dari mana saja (WFA)",
    RequestKind.CUTI_TAHUNAN: "Cuti tahunan",
    RequestKind.CUTI_SAKIT: "Cuti sakit",
    RequestKind.CUTI_ALASAN_PENTING: "Cuti karena alasan penting",
    RequestKind.CUTI_BESAR: "Cuti besar",
    RequestKind.CUTI_MELAHIRKAN: "Cuti melahirkan",
}
PNS_LEAVE = (
    RequestKind.CUTI_TAHUNAN,
    RequestKind.CUTI_SAKIT,
    RequestKind.CUTI_ALASAN_PENTING,
    RequestKind.CUTI_BESAR,
    RequestKind.CUTI_MELAHIRKAN,
)
PPPK_LEAVE = (RequestKind.CUTI_TAHUNAN, RequestKind.CUTI_SAKIT, RequestKind.CUTI_MELAHIRKAN)
NATARU_WINDOW = (date(2025, 12, 29), date(2025, 12, 31))
_REGION_ZONES = {"pesisir-barat": "Asia/Jakarta"}


@dataclass(frozen=True)
class DateWindow:
    start: date
    end: date
    # "days": tick individual dates (short windows); "range": first and last day (leave spans)
    pick: Literal["days", "range"]

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class KindOption:
    kind: RequestKind
    label: str
    windows: tuple[DateWindow, ...]
    needs_location: bool
    abroad_allowed: bool = True

    def allows(self, day: date) -> bool:
        return any(w.contains(day) for w in self.windows)


@dataclass(frozen=True)
class FormOptions:
    kinds: tuple[KindOption, ...]
    timezone: str
    today: date

    def option(self, kind: str | None) -> KindOption | None:
        return next((k for k in self.kinds if k.kind.value == kind), None)


def region_zone(region: str) -> str:
    """IANA zone of a region (WIB/WITA/WIT); the packs will carry this."""
    return _REGION_ZONES.get(region, "Asia/Makassar")


async def form_options(c: Container, person: Person) -> FormOptions:
    zone = region_zone(person.region)
    today = c.clock.now().astimezone(ZoneInfo(zone)).date()
    flexible = (DateWindow(*NATARU_WINDOW, pick="days"),)
    # Leave may be asked after the fact (sick leave is), so the form does not cut the past off: the evaluator
    # decides, and its refusal cites the clause.
    leave = (DateWindow(date(today.year, 1, 1), date(today.year + 1, 12, 31), pick="range"),)
    kinds = [
        KindOption(RequestKind.WFH, KIND_LABELS[RequestKind.WFH], flexible, needs_location=False),
        KindOption(RequestKind.WFA, KIND_LABELS[RequestKind.WFA], flexible, needs_location=True),
    ]
    leave_kinds = PNS_LEAVE if person.employee_type == EmployeeType.PNS else PPPK_LEAVE
    kinds += [KindOption(k, KIND_LABELS[k], leave, needs_location=False) for k in leave_kinds]
    return FormOptions(kinds=tuple(kinds), timezone=zone, today=today)
