"""The organisation directory: who works where, who heads what, who acts for whom."""

from __future__ import annotations

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
OPTIONAL_DIRECTORY_COLUMNS = ("email", "phone")


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
