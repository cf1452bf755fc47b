"""The Formulir Permintaan dan Pemberian Cuti (Anak Lampiran I.b of Peraturan BKN Nomor 24 Tahun 2017),
decided without I/O: which requests get one, and what each of its eight sections says.

One form per decided round of a leave request: it is issued when the request's outcome is recorded (the
decision of the pejabat yang berwenang memberikan cuti, or a refusal that ended the request before it
reached that official), and carries every consideration of that round. The BKPSDM files the completed
form; a round that was returned for revision never had an outcome and so has no form of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.documents.letters import LEAVE_KINDS, Signer
from services.kernel.bahasa import ROMAN_MONTHS, date_ranges, dates_text
from services.kernel.regions import RegionDisplay

FORM_KIND = "formulir_cuti"
FORM_TITLE = "FORMULIR PERMINTAAN DAN PEMBERIAN CUTI"
# Events that end a round with an outcome; the form of that round is issued when one is recorded.
OUTCOME_EVENTS = ("RequestApproved", "RequestRejected", "RequestDeferred")
FORM_LEAVE_KINDS = (*LEAVE_KINDS, "CLTN")

# Section II, in the order and with the numbers of the regulation's form.
KINDS_ON_FORM = (
    ("CUTI_TAHUNAN", "Cuti Tahunan"),
    ("CUTI_BESAR", "Cuti Besar"),
    ("CUTI_SAKIT", "Cuti Sakit"),
    ("CUTI_MELAHIRKAN", "Cuti Melahirkan"),
    ("CUTI_ALASAN_PENTING", "Cuti Karena Alasan Penting"),
    ("CLTN", "Cuti di Luar Tanggungan Negara"),
)
# Sections VII and VIII: the four boxes, and the decision recorded in Lentur that ticks each.
BOXES = (("approve", "DISETUJUI"), ("change", "PERUBAHAN"), ("defer", "DITANGGUHKAN"), ("reject", "TIDAK DISETUJUI"))
BOX_DECISIONS = frozenset(decision for decision, _ in BOXES)
TICK = "X"


def form_wanted(request_kind: str, outcome_type: str, payload: dict[str, object]) -> bool:
    """A leave request gets its form when a round ends with a decision taken by a person. A refusal by the
    rules at submission (no one decided) and an expiry are not decisions."""
    if request_kind not in FORM_LEAVE_KINDS or outcome_type not in OUTCOME_EVENTS:
        return False
    if outcome_type == "RequestRejected":
        return payload.get("code", "rejected_by_approver") == "rejected_by_approver" and payload.get("tier") is not None
    return True


def form_number(display: RegionDisplay, sequence: int, opd_code: str, issued_on: date) -> str:
    """Forms are numbered per OPD and year in a sequence of their own, apart from the letters."""
    return f"{display.letter_code}/FPC.{sequence}/{opd_code}/{ROMAN_MONTHS[issued_on.month - 1]}/{issued_on.year}"


@dataclass(frozen=True)
class Employee:
    """Section I. Fields the directory does not carry are blank, never guessed."""

    name: str
    nip: str
    position: str
    service_length: str
    unit: str
    rank: str


@dataclass(frozen=True)
class AnnualRecord:
    """Section V, annual leave: days left from two years back (N-2), one year back (N-1) and this year (N),
    before this request, in working days."""

    year: int
    n2: int
    n1: int
    n: int
    used: int
    available: int
    deferred: int = 0
    """days a PYBMC deferred from N-1 into N, usable this year on top of N"""


@dataclass(frozen=True)
class Decision:
    """One box row of section VII or VIII: what was recorded, why, and who signed."""

    tier: str
    decision: str  # approve | change | defer | reject
    comment: str | None
    signer: Signer
    decided_on: date
    dates: tuple[date, ...] = ()  # the dates granted, for a change
    defer_until: date | None = None

    def ticked(self, box: str) -> bool:
        return self.decision == box

    def note(self) -> str:
        """The reason the form asks for beside a ticked PERUBAHAN, DITANGGUHKAN or TIDAK DISETUJUI."""
        parts: list[str] = []
        if self.decision == "change" and self.dates:
            parts.append(f"Diberikan pada tanggal {dates_text(self.dates)}.")
        if self.decision == "defer" and self.defer_until is not None:
            parts.append(f"Ditangguhkan sampai dengan {dates_text([self.defer_until])}.")
        if self.decision != "approve" and self.comment:
            parts.append(f"Alasan: {self.comment}")
        return " ".join(parts)


@dataclass(frozen=True)
class OutsideConsideration:
    """An outside authority's consideration the decision rests on (BKN's pertimbangan teknis for a CLTN)."""

    authority: str
    number: str
    dated: date

    def note(self) -> str:
        return f"Pertimbangan teknis {self.authority} Nomor {self.number} tanggal {dates_text([self.dated])}."


@dataclass(frozen=True)
class LeaveForm:
    doc_id: str
    number: str
    issued_on: date
    region: RegionDisplay
    opd_name: str
    employee: Employee
    request_kind: str
    reason: str
    dates: tuple[date, ...]
    working_days: int
    record: AnnualRecord | None
    address: str
    phone: str
    considerations: tuple[Decision, ...]
    decision: Decision | None
    addressee: str
    verify_url: str
    other_kinds_taken: dict[str, int] = field(default_factory=dict)
    outside: tuple[OutsideConsideration, ...] = ()
    """written beside the PYBMC's decision in section VIII, the only place the form has room for them"""
    extra_days: int = 0
    """annual leave in a place hard to reach: calendar days of travel after the last leave day (section IV)"""

    def first_day(self) -> date:
        return min(self.dates)

    def last_day(self) -> date:
        return max(self.dates)

    def duration_unit(self) -> str:
        return "hari kerja" if self.request_kind in ("CUTI_TAHUNAN", "CUTI_ALASAN_PENTING") else "hari"

    def duration(self) -> int:
        if self.duration_unit() == "hari kerja":
            return self.working_days or len(self.dates)
        ranges = date_ranges(self.dates)
        return sum((last - first).days + 1 for first, last in ranges)

    def extension(self) -> str:
        """Section IV's note on the travel days for a place hard to reach, which the annual-leave right does not
        pay for; blank when none were granted."""
        if not self.extra_days:
            return ""
        return f"ditambah {self.extra_days} hari kalender karena tempat yang sulit perhubungannya"

    def kind_ticked(self, kind: str) -> bool:
        return self.request_kind == kind


def split_considerations(
    decisions: list[Decision], route_tiers: list[str]
) -> tuple[tuple[Decision, ...], Decision | None]:
    """The considerations (every tier before the last of the route) and the decision of the last tier, the
    pejabat yang berwenang memberikan cuti. When a refusal ended the round earlier, there is no decision."""
    final_tier = route_tiers[-1] if route_tiers else None
    boxed = [d for d in decisions if d.decision in BOX_DECISIONS]
    decision = next((d for d in reversed(boxed) if d.tier == final_tier), None)
    considerations = tuple(d for d in boxed if d is not decision)
    return considerations, decision
