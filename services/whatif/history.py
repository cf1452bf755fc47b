"""The directory and the policy packs as they stood at any position of the log, folded forward once.

Both change rarely (an import, a publication) and are read at every request, so each keeps its current
value and rebuilds it only when its own event arrives. The directory index is immutable, which lets the
evaluator memoise who heads which unit for as long as that version lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from contracts.directory import Person
from policy.directory import DirectoryIndex
from policy.packs import LoadedPack, PackSet, load_pack


class DraftConflict(Exception):
    """The draft cannot be in force next to the published packs (e.g. two packs would govern one region)."""


class DirectoryHistory:
    """`DirectoryImported` replaces every person of the regions it names (as the read model does)."""

    def __init__(self) -> None:
        self._people: dict[str, Person] = {}
        self._index: DirectoryIndex | None = DirectoryIndex(())
        self.version = 0

    def imported(self, people: Iterable[Mapping[str, Any]]) -> None:
        incoming = [_person(p) for p in people]
        regions = {p.region for p in incoming}
        self._people = {nip: p for nip, p in self._people.items() if p.region not in regions}
        for person in incoming:
            self._people[person.nip] = person
        self._index = None
        self.version += 1

    @property
    def index(self) -> DirectoryIndex:
        if self._index is None:
            # import order, as the read model's rows come back; the index picks the first holder of a post
            self._index = DirectoryIndex(self._people.values())
        return self._index


def _person(data: Mapping[str, Any]) -> Person:
    return Person(
        nip=data["nip"],
        name=data["name"],
        employee_type=data["employee_type"],
        region=data["region"],
        opd_code=data["opd_code"],
        opd_name=data["opd_name"],
        opd_class=data["opd_class"],
        unit_code=data["unit_code"],
        unit_name=data["unit_name"],
        roles=frozenset(data.get("roles") or ()),
        acting_for=data.get("acting_for"),
        email=data.get("email"),
        phone=data.get("phone"),
        rank=data.get("rank"),
        position=data.get("position"),
        service_start=data.get("service_start"),
    )


class PackHistory:
    """Every pack text published so far (the registry's view at that position), plus the draft world's set.

    Until the first `PolicyPackPublished` the registry serves the packs shipped with Lentur, and so does
    this history.
    """

    def __init__(self, bundled: Iterable[str], draft: LoadedPack | None = None) -> None:
        self._bundled = [load_pack(t) for t in bundled]
        self._published: list[LoadedPack] = []
        self._loaded: dict[str, LoadedPack] = {}
        self._draft = draft
        self._current: PackSet | None = None
        self._with_draft: PackSet | None = None

    def published(self, text: str, sha256: str | None = None) -> None:
        loaded = self._loaded.get(sha256 or "")
        if loaded is None:
            loaded = load_pack(text)
            self._loaded[loaded.sha256] = loaded
        self._published.append(loaded)
        self._current = None
        self._with_draft = None

    @property
    def current(self) -> PackSet:
        if self._current is None:
            self._current = PackSet(self._published or self._bundled)
        return self._current

    @property
    def with_draft(self) -> PackSet:
        if self._draft is None:
            return self.current
        if self._with_draft is None:
            try:
                self._with_draft = self.current.with_pack(self._draft)
            except ValueError as exc:
                raise DraftConflict(str(exc)) from exc
        return self._with_draft
