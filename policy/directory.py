"""The org directory: CSV parsing with row-numbered errors, and the index that answers "who heads this unit".

Pure: no I/O. Unit and OPD codes repeat across regions (every pemda has a DINKES), so every lookup is keyed
by region as well.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError

from contracts.common import Role
from contracts.directory import DIRECTORY_COLUMNS, LATER_DIRECTORY_FIELDS, OPTIONAL_DIRECTORY_COLUMNS, Person

MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowError:
    row: int
    nip: str | None
    reason: str


class DirectoryInvalid(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} row(s) refused; first: row {errors[0].row}: {errors[0].reason}")


def nip_problem(nip: str, *, today: date) -> str | None:
    """Why an 18-digit NIP is implausible, or None. Layout: birth YYYYMMDD, CPNS TMT YYYYMM, gender, serial."""
    if len(nip) != 18 or not nip.isdigit():
        return "NIP harus 18 digit angka"
    try:
        born = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        return f"tanggal lahir pada NIP tidak valid ({nip[0:8]})"
    tmt_year, tmt_month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= tmt_month <= 12:
        return f"bulan TMT pada NIP tidak valid ({nip[8:14]})"
    if nip[14] not in "12":
        return "digit jenis kelamin pada NIP harus 1 atau 2"
    age_at_tmt = tmt_year - born.year
    if age_at_tmt < 17 or age_at_tmt > 60:
        return f"TMT {tmt_year} tidak masuk akal untuk kelahiran {born.year}"
    if date(tmt_year, tmt_month, 1) > today.replace(day=1) and tmt_year > today.year + 1:
        return f"TMT {nip[8:14]} berada di masa depan"
    if born.year < today.year - 80:
        return f"tahun lahir {born.year} tidak masuk akal"
    return None


def parse_directory_csv(
    text: str, *, known_regions: Iterable[str] | None = None, today: date | None = None
) -> tuple[Person, ...]:
    """Parse and validate a whole directory; all-or-nothing, every problem reported with its row number."""
    today = today or date.today()
    regions = set(known_regions) if known_regions is not None else None
    errors: list[RowError] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in DIRECTORY_COLUMNS if c not in header]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    unknown = [c for c in header if c not in DIRECTORY_COLUMNS and c not in OPTIONAL_DIRECTORY_COLUMNS]
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append("kolom wajib tidak ada: " + ", ".join(missing))
        if unknown:
            parts.append("kolom tidak dikenal: " + ", ".join(unknown))
        if duplicated:
            parts.append("kolom ganda: " + ", ".join(duplicated))
        raise DirectoryInvalid([RowError(row=1, nip=None, reason="; ".join(parts))])
    reader.fieldnames = header

    people: list[Person] = []
    seen: dict[str, int] = {}
    try:
        rows = list(enumerate(reader, start=2))
    except csv.Error as exc:
        raise DirectoryInvalid([RowError(row=reader.line_num, nip=None, reason=f"CSV rusak: {exc}")]) from exc
    for index, raw in rows:
        if index - 1 > MAX_ROWS:
            errors.append(RowError(row=index, nip=None, reason=f"lebih dari {MAX_ROWS} baris"))
            break
        if None in raw:  # more cells than header columns
            errors.append(RowError(row=index, nip=None, reason="jumlah kolom melebihi header"))
            continue
        row = {k: (v or "").strip() for k, v in raw.items()}
        nip = row.get("nip") or None
        if nip and (problem := nip_problem(nip, today=today)):
            errors.append(RowError(row=index, nip=nip, reason=problem))
            continue
        if nip in seen:
            errors.append(RowError(row=index, nip=nip, reason=f"NIP ganda (sudah ada di baris {seen[nip]})"))
            continue
        roles_text = [r.strip() for r in row.get("roles", "").split(";") if r.strip()]
        bad_roles = [r for r in roles_text if r not in {x.value for x in Role}]
        if bad_roles:
            errors.append(RowError(row=index, nip=nip, reason=f"peran tidak dikenal: {', '.join(bad_roles)}"))
            continue
        if regions is not None and row.get("region") not in regions:
            errors.append(RowError(row=index, nip=nip, reason=f"wilayah tidak dikenal: {row.get('region')!r}"))
            continue
        service_start, service_problem = _service_start(row.get("service_start", ""), today=today)
        if service_problem:
            errors.append(RowError(row=index, nip=nip, reason=service_problem))
            continue
        try:
            person = Person(
                nip=row["nip"],
                name=row["name"],
                employee_type=row["employee_type"],
                region=row["region"],
                opd_code=row["opd_code"],
                opd_name=row["opd_name"],
                opd_class=row["opd_class"],
                unit_code=row["unit_code"],
                unit_name=row["unit_name"],
                roles=frozenset(Role(r) for r in roles_text),
                acting_for=row.get("acting_for") or None,
                email=row.get("email") or None,
                phone=row.get("phone") or None,
                rank=row.get("rank") or None,
                position=row.get("position") or None,
                service_start=service_start,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            errors.append(RowError(row=index, nip=nip, reason=f"{field}: {first['msg']}"))
            continue
        if not person.region or not person.opd_code or not person.unit_code:
            errors.append(RowError(row=index, nip=nip, reason="region, opd_code dan unit_code wajib diisi"))
            continue
        if person.acting_for == person.nip:
            errors.append(RowError(row=index, nip=nip, reason="acting_for tidak boleh NIP sendiri"))
            continue
        seen[person.nip] = index
        people.append(person)

    if not errors:
        errors.extend(_structural_problems(people, seen))
    if errors:
        raise DirectoryInvalid(sorted(errors, key=lambda e: e.row))
    return tuple(people)


def _service_start(text: str, *, today: date) -> tuple[date | None, str | None]:
    """The `service_start` cell as a date, or why it is refused (blank is fine: the NIP's TMT stands in)."""
    if not text:
        return None, None
    try:
        started = date.fromisoformat(text)
    except ValueError:
        return None, f"service_start bukan tanggal YYYY-MM-DD yang valid: {text!r}"
    if len(text) != 10:
        return None, f"service_start harus berformat YYYY-MM-DD: {text!r}"
    if started > today:
        return None, f"service_start {text} berada di masa depan"
    return started, None


def _structural_problems(people: list[Person], rows: dict[str, int]) -> list[RowError]:
    errors: list[RowError] = []
    by_nip = {p.nip: p for p in people}
    # acting_for must not form a cycle (A acts for B who acts for A)
    for person in people:
        visited = {person.nip}
        current = person.acting_for
        while current is not None and current in by_nip:
            if current in visited:
                errors.append(RowError(row=rows[person.nip], nip=person.nip, reason="acting_for membentuk siklus"))
                break
            visited.add(current)
            current = by_nip[current].acting_for
    index = DirectoryIndex(people)
    regions = {p.region for p in people}
    for region in sorted(regions):
        if index.ppk(region) is None:
            first = min(rows[p.nip] for p in people if p.region == region)
            errors.append(RowError(row=first, nip=None, reason=f"wilayah {region} tidak memiliki PPK"))
    for (region, unit_code), members in index.units.items():
        staff = [m for m in members if not m.roles and m.acting_for is None]
        if staff and index.unit_head(region, unit_code) is None:
            errors.append(
                RowError(
                    row=rows[staff[0].nip],
                    nip=staff[0].nip,
                    reason=f"unit {unit_code} ({region}) tidak memiliki kepala unit",
                )
            )
        heads = [m for m in members if Role.UNIT_HEAD in m.roles and m.acting_for is None]
        if len(heads) > 1:
            errors.append(
                RowError(
                    row=rows[heads[1].nip],
                    nip=heads[1].nip,
                    reason=f"unit {unit_code} ({region}) memiliki lebih dari satu kepala unit",
                )
            )
    for (region, opd_code), members in index.opds.items():
        has_unit_heads = any(Role.UNIT_HEAD in m.roles for m in members)
        if has_unit_heads and index.opd_head(region, opd_code) is None:
            member = members[0]
            errors.append(
                RowError(
                    row=rows[member.nip],
                    nip=member.nip,
                    reason=f"perangkat daerah {opd_code} ({region}) tidak memiliki kepala",
                )
            )
    return errors


def directory_sha256(people: Iterable[Person]) -> str:
    """Content hash of a directory independent of row order, so re-importing the same file is a no-op."""
    lines = sorted(
        p.model_dump_json(exclude={f for f in LATER_DIRECTORY_FIELDS if getattr(p, f) is None}) for p in people
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class PostHolder:
    """Who holds a post, and — for a vacant post run by a Plt — who acts for the absent holder."""

    nip: str
    name: str
    acting: Person | None = None

    @property
    def assignee_nip(self) -> str:
        return self.acting.nip if self.acting is not None else self.nip


class DirectoryIndex:
    def __init__(self, people: Iterable[Person]) -> None:
        self.people: dict[str, Person] = {}
        self.units: dict[tuple[str, str], list[Person]] = defaultdict(list)
        self.opds: dict[tuple[str, str], list[Person]] = defaultdict(list)
        self._acting: dict[str, list[Person]] = defaultdict(list)
        for person in people:
            self.people[person.nip] = person
            self.units[(person.region, person.unit_code)].append(person)
            self.opds[(person.region, person.opd_code)].append(person)
            if person.acting_for:
                self._acting[person.acting_for].append(person)

    def __len__(self) -> int:
        return len(self.people)

    def get(self, nip: str) -> Person | None:
        return self.people.get(nip)

    def acting_officials_for(self, holder_nip: str) -> list[Person]:
        """Plt/Plh who hold `holder_nip`'s post."""
        return list(self._acting.get(holder_nip, ()))

    def holders_acted_for_by(self, nip: str) -> list[str]:
        person = self.people.get(nip)
        return [person.acting_for] if person and person.acting_for else []

    def _holder(self, candidates: list[Person], role: Role) -> PostHolder | None:
        holders = [p for p in candidates if role in p.roles]
        direct = [p for p in holders if p.acting_for is None]
        if direct:
            return PostHolder(nip=direct[0].nip, name=direct[0].name)
        for plt in holders:  # vacant post: the Plt holds the role for an absent holder
            assert plt.acting_for is not None
            absent = self.people.get(plt.acting_for)
            if absent is None:
                return PostHolder(nip=plt.acting_for, name=f"(jabatan dijabat Plt {plt.name})", acting=plt)
            return PostHolder(nip=absent.nip, name=absent.name)
        return None

    def unit_head(self, region: str, unit_code: str) -> PostHolder | None:
        return self._holder(self.units.get((region, unit_code), []), Role.UNIT_HEAD)

    def opd_head(self, region: str, opd_code: str) -> PostHolder | None:
        return self._holder(self.opds.get((region, opd_code), []), Role.OPD_HEAD)

    def ppk(self, region: str) -> PostHolder | None:
        return self._holder([p for p in self.people.values() if p.region == region], Role.PPK)

    def unit_members(self, region: str, unit_code: str) -> list[Person]:
        return list(self.units.get((region, unit_code), []))

    def unit_size(self, region: str, unit_code: str) -> int:
        return len(self.units.get((region, unit_code), []))

    def in_region(self, region: str, role: Role) -> list[Person]:
        return [p for p in self.people.values() if p.region == region and role in p.roles]
