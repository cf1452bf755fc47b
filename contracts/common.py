"""Vocabulary shared by events, commands, policy and the HTTP API."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_control_chars(value: str) -> str:
    # Postgres jsonb refuses NUL, and no legitimate form field carries control characters.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    # JSON may escape half of a UTF-16 pair ("\ud800"); such text cannot be stored or sealed as UTF-8.
    if _LONE_SURROGATE.search(value):
        raise ValueError("must be valid Unicode text")
    return value


CleanStr = Annotated[str, AfterValidator(_no_control_chars)]
# The constraints come before the validator: behind an AfterValidator pydantic would check the length of the
# unstripped text, letting a whitespace-only value through as "".
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_control_chars)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(_no_control_chars)
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_no_control_chars)
]
Nip = Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(StrEnum):
    UNIT_HEAD = "UNIT_HEAD"
    OPD_HEAD = "OPD_HEAD"
    PPK = "PPK"


class RequestKind(StrEnum):
    WFH = "WFH"
    WFA = "WFA"
    CUTI_TAHUNAN = "CUTI_TAHUNAN"
    CUTI_SAKIT = "CUTI_SAKIT"
    CUTI_ALASAN_PENTING = "CUTI_ALASAN_PENTING"
    CUTI_BESAR = "CUTI_BESAR"
    CUTI_MELAHIRKAN = "CUTI_MELAHIRKAN"
    IZIN_LUAR_NEGERI = "IZIN_LUAR_NEGERI"
    CLTN = "CLTN"  # cuti di luar tanggungan negara (PNS only)

    @property
    def is_flexible_work(self) -> bool:
        return self in (RequestKind.WFH, RequestKind.WFA)

    @property
    def is_travel_abroad(self) -> bool:
        """Permission to travel abroad: neither flexible work nor leave (it counts calendar days)."""
        return self == RequestKind.IZIN_LUAR_NEGERI

    @property
    def is_leave(self) -> bool:
        return not (self.is_flexible_work or self.is_travel_abroad)


TravelPurpose = Literal["dinas", "pribadi"]


class EmployeeType(StrEnum):
    PNS = "PNS"
    PPPK = "PPPK"
    PPPK_PW = "PPPK_PW"


class OpdClass(StrEnum):
    VITAL = "vital"
    DIRECT_SERVICE = "direct_service"
    SUPPORT = "support"


class Role(StrEnum):
    UNIT_HEAD = "unit_head"
    OPD_HEAD = "opd_head"
    PPK = "ppk"
    ADMIN = "admin"
    INSPECTOR = "inspector"


class RequestStatus(StrEnum):
    PENDING = "PENDING"
    RETURNED = "RETURNED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    DEFERRED = "DEFERRED"
    """Annual leave the PYBMC deferred (ditangguhkan) for an urgent service need; its days move to next year."""

    @property
    def is_final(self) -> bool:
        return self in (
            RequestStatus.REJECTED,
            RequestStatus.CANCELLED,
            RequestStatus.EXPIRED,
            RequestStatus.DEFERRED,
        )


class DecisionKind(StrEnum):
    """The boxes of the leave form (Peraturan BKN 24/2017, Anak Lampiran I.b) plus return for revision.

    `change` (perubahan) grants other dates; `defer` (ditangguhkan) postpones annual leave. Both are leave-only.
    """

    APPROVE = "approve"
    CHANGE = "change"
    DEFER = "defer"
    REJECT = "reject"
    RETURN = "return"

    @property
    def leave_only(self) -> bool:
        return self in (DecisionKind.CHANGE, DecisionKind.DEFER)

    @property
    def refuses(self) -> bool:
        """A consideration that, where binding, ends the request (the form's *tidak disetujui*)."""
        return self == DecisionKind.REJECT


class Location(Frozen):
    text: ShortText
    country: CountryCode = "ID"

    @property
    def abroad(self) -> bool:
        return self.country != "ID"


class PolicyRef(Frozen):
    """The exact pack a request was judged by."""

    id: str
    version: str
    sha256: str


class Citation(Frozen):
    """The clause that caused a route step, a constraint or a refusal."""

    pack_id: str
    pack_version: str
    rule_id: str
    source: str = Field(description="The legal instrument, e.g. 'SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025'.")
    clause: str = Field(description="What the clause says, in Bahasa Indonesia.")


EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def _plausible_day(day: date) -> date:
    # Requests are about working days of this century; far-off years are typing errors, not leave.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"tanggal harus antara {EARLIEST_DAY.isoformat()} dan {LATEST_DAY.isoformat()}")
    return day


Day = Annotated[date, AfterValidator(_plausible_day)]
# 92 days for every kind but CLTN, which may run three years (SubmitRequestIn holds the others to 92). The
# pack's max_days is the rule; this only bounds what a request can carry at all.
MAX_DATES = 92
MAX_CLTN_DATES = 1100
DateList = Annotated[list[Day], Field(min_length=1, max_length=MAX_CLTN_DATES)]


def _sorted_kinds(values: frozenset[RequestKind]) -> list[str]:
    return sorted(v.value for v in values)


def _sorted_roles(values: frozenset[Role]) -> list[str]:
    return sorted(v.value for v in values)


# Sets are written in a fixed order: payloads and hashes must not depend on a process's hash seed.
KindSet = Annotated[frozenset[RequestKind], PlainSerializer(_sorted_kinds, return_type=list[str], when_used="json")]
RoleSet = Annotated[frozenset[Role], PlainSerializer(_sorted_roles, return_type=list[str], when_used="json")]
