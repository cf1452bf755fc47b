"""The organisation directory: who works where, who heads what, who acts for whom."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from contracts.common import EmployeeType, Frozen, Nip, OpdClass, Role, RoleSet, ShortText

DIRECTORY_COLUMNS = (
    "nip",
    "name",
    "employee_type",
    "region",
    "opd_code",
    "opd_name",
    "opd_class",
    "unit_code",
    "unit_name",
    "roles",
    "acting_for",
)
OPTIONAL_DIRECTORY_COLUMNS = ("email", "phone", "rank", "position", "service_start")
# Columns added after 0.2.0: left out of a person's content hash while blank, so a directory imported before
# they existed hashes the same afterwards and re-importing it stays a no-op.
LATER_DIRECTORY_FIELDS = frozenset({"rank", "position", "service_start"})


class Person(Frozen):
    nip: Nip
    name: ShortText
    employee_type: EmployeeType
    region: str
    opd_code: str
    opd_name: str
    opd_class: OpdClass
    unit_code: str
    unit_name: str
    roles: RoleSet = frozenset()
    acting_for: Nip | None = None
    email: str | None = None
    phone: str | None = None
    rank: str | None = None  # pangkat and golongan ruang, e.g. "Penata Muda Tingkat I, III/b"; a PPPK's "IX"
    position: str | None = None  # jabatan
    service_start: date | None = None  # start of continuous service; None → the NIP's TMT for a PNS

    @property
    def tmt(self) -> date | None:
        """The CPNS TMT from an 18-digit PNS NIP (digits 9–14, YYYYMM), or None when there is none to read."""
        if self.employee_type != "PNS" or len(self.nip) != 18 or not self.nip.isdigit():
            return None
        try:
            return date(int(self.nip[8:12]), int(self.nip[12:14]), 1)
        except ValueError:
            return None

    @property
    def service_since(self) -> date | None:
        """When continuous service began: the directory's `service_start`, else the NIP's TMT for a PNS."""
        return self.service_start or self.tmt

    @property
    def gender(self) -> str:
        """'L' or 'P' from the NIP's 15th digit (1 male, 2 female)."""
        return "P" if self.nip[14] == "2" else "L"

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class DirectorySnapshot(Frozen):
    """A whole directory as imported; the unit of change is one import."""

    sha256: str
    people: tuple[Person, ...] = Field(default_factory=tuple)
