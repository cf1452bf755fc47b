"""Loading, validating and choosing policy packs. Pure: callers hand in the pack text, never a path.

A pack is identified by the SHA-256 of its exact bytes, so an inspector can check that the text shown by
`GET /api/policy/packs/{id}` is the one a decision cites. A malformed pack is refused with the line and
the reason (`PackInvalid`), whether the YAML itself is broken or a value breaks the schema.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

from contracts.common import Citation, PolicyRef, RequestKind
from contracts.policy_pack import PolicyPack, Rule, Window, pack_problems

MAX_PACK_BYTES = 512 * 1024


class PackInvalid(Exception):
    """A pack that cannot be used; `line` is 1-based in the pack text."""

    def __init__(self, line: int, reason: str, problems: Sequence[tuple[int, str]] = ()) -> None:
        self.line = line
        self.reason = reason
        self.problems: tuple[tuple[int, str], ...] = tuple(problems) or ((line, reason),)
        super().__init__(f"baris {line}: {reason}")


class _PackLoader(yaml.SafeLoader):
    """YAML without YAML 1.1's implicit typing: every scalar stays a string and the schema converts it.

    Plain SafeLoader reads `07:30` as the integer 450 (base 60), `NO` (Norway) as False and `2025.12` as a
    float; a pack must never change meaning like that, so only `null`/`~`/empty are resolved here.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # Aliases let a few hundred bytes expand into millions of nodes ("billion laughs"); a legal text
        # never needs them, so a pack may not use one.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "alias YAML (*nama) tidak diizinkan dalam paket", event.start_mark
            )
        return super().compose_node(parent, index)


_PackLoader.yaml_implicit_resolvers = {}
_PackLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


@dataclass(frozen=True)
class LoadedPack:
    """A validated pack with its exact text, its hash and the citations of its rules ready to hand out."""

    pack: PolicyPack
    text: str
    sha256: str
    citations: dict[str, Citation] = field(repr=False, compare=False)
    window_dates: frozenset[date] = field(repr=False, compare=False)
    windows: tuple[tuple[Window, frozenset[date]], ...] = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.pack.id

    @property
    def version(self) -> str:
        return self.pack.version

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(id=self.pack.id, version=self.pack.version, sha256=self.sha256)

    @property
    def is_baseline(self) -> bool:
        return self.pack.scope == "national"

    def cite(self, rule: Rule) -> Citation:
        return self.citations[rule.id]


def pack_sha256(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(raw).hexdigest()


def load_pack(text: str | bytes) -> LoadedPack:
    """Parse and validate one pack; raises `PackInvalid(line, reason)` on the first problem found."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_PACK_BYTES:
        raise PackInvalid(1, f"paket lebih dari {MAX_PACK_BYTES} byte")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PackInvalid(line, "teks paket bukan UTF-8 yang sah") from exc
    root, data = _parse_yaml(decoded)
    if not isinstance(data, dict):
        raise PackInvalid(1, "paket harus berupa mapping YAML (kunci: nilai) di tingkat teratas")
    try:
        pack = PolicyPack.model_validate(data, context={"defer_coherence": True})
    except ValidationError as exc:
        problems = [(_line_for(root, err["loc"]), _describe(err)) for err in exc.errors()]
        problems.sort()
        raise PackInvalid(problems[0][0], problems[0][1], problems) from exc
    located = [(_line_for(root, path), reason) for path, reason in pack_problems(pack)]
    if located:
        located.sort()
        raise PackInvalid(located[0][0], located[0][1], located)
    citations = {rule.id: pack.citation(rule) for _, rule in pack.rules()}
    windows = tuple((w, frozenset(w.all_dates())) for w in pack.windows)
    return LoadedPack(
        pack=pack,
        text=decoded,
        sha256=pack_sha256(raw),
        citations=citations,
        window_dates=frozenset(d for _, days in windows for d in days),
        windows=windows,
    )


def _parse_yaml(text: str) -> tuple[yaml.Node, Any]:
    try:
        loader = _PackLoader(text)  # reads (and checks the characters of) the start of the text at once
    except yaml.reader.ReaderError as exc:
        raise PackInvalid(text[: exc.position].count("\n") + 1, f"karakter tidak sah dalam YAML: {exc.reason}") from exc
    try:
        root = loader.get_single_node()
        if root is None:
            raise PackInvalid(1, "paket kosong")
        _refuse_duplicate_keys(root)
        return root, loader.construct_document(root)
    except yaml.reader.ReaderError as exc:
        raise PackInvalid(text[: exc.position].count("\n") + 1, f"karakter tidak sah dalam YAML: {exc.reason}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        raise PackInvalid(line, f"YAML tidak sah: {reason}") from exc
    except yaml.YAMLError as exc:
        raise PackInvalid(1, f"YAML tidak sah: {exc}") from exc
    finally:
        loader.dispose()


def _refuse_duplicate_keys(node: yaml.Node) -> None:
    # YAML quietly keeps the last of two equal keys; in a legal text that hides a rule, so refuse it.
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise PackInvalid(
                        key.start_mark.line + 1,
                        f"kunci {key.value!r} ganda (sudah ada di baris {seen[key.value]})",
                    )
                seen[key.value] = key.start_mark.line + 1
            _refuse_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)


def _line_for(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """The line of the deepest node the error path reaches (pydantic adds union tags that we step over)."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is not None:
            node = child
    return int(node.start_mark.line) + 1


def _describe(err: Any) -> str:
    path = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p)))
    message = str(err["msg"])
    if err["type"] == "missing":
        message = "wajib diisi"
    elif err["type"] == "extra_forbidden":
        message = "kunci tidak dikenal"
    return f"{path or '(akar)'}: {message}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class PackSet:
    """Packs by id (newest version in force), by (id, version) and by sha256, plus the national baseline."""

    def __init__(self, packs: Iterable[LoadedPack], *, overrides: Iterable[LoadedPack] = ()) -> None:
        self._by_version: dict[tuple[str, str], LoadedPack] = {}
        self._by_sha: dict[str, LoadedPack] = {}
        for loaded in packs:
            self._add(loaded, replace=False)
        self._current: dict[str, LoadedPack] = {}
        for (pack_id, _), loaded in sorted(self._by_version.items(), key=lambda kv: _version_key(kv[0][1])):
            self._current[pack_id] = loaded
        for loaded in overrides:
            self._add(loaded, replace=True)
            self._current[loaded.id] = loaded
        self._by_region: dict[str, LoadedPack] = {}
        baselines = [p for p in self._current.values() if p.is_baseline]
        if len(baselines) > 1:
            raise ValueError("lebih dari satu paket nasional: " + ", ".join(sorted(p.id for p in baselines)))
        self._baseline = baselines[0] if baselines else None
        for loaded in self._current.values():
            region = loaded.pack.region
            if loaded.is_baseline or region is None:
                continue
            other = self._by_region.get(region)
            if other is not None:
                raise ValueError(f"wilayah {region} diatur dua paket: {other.id} dan {loaded.id}")
            self._by_region[region] = loaded

    def _add(self, loaded: LoadedPack, *, replace: bool) -> None:
        key = (loaded.id, loaded.version)
        existing = self._by_version.get(key)
        if existing is not None and existing.sha256 != loaded.sha256 and not replace:
            raise ValueError(f"paket {loaded.id} versi {loaded.version} dimuat dua kali dengan isi berbeda")
        self._by_version[key] = loaded
        self._by_sha[loaded.sha256] = loaded

    @classmethod
    def from_texts(cls, texts: Iterable[str | bytes]) -> PackSet:
        return cls(load_pack(t) for t in texts)

    def with_pack(self, draft: LoadedPack) -> PackSet:
        """The same set with `draft` in force for its id (the simulator judges under a draft this way)."""
        current = [p for p in self._current.values() if p.id != draft.id]
        history = list(self._by_version.values())
        return PackSet(history, overrides=[*current, draft])

    def __iter__(self) -> Iterator[LoadedPack]:
        return iter(sorted(self._current.values(), key=lambda p: p.id))

    def __len__(self) -> int:
        return len(self._current)

    def get(self, pack_id: str) -> LoadedPack | None:
        return self._current.get(pack_id)

    def version(self, pack_id: str, version: str) -> LoadedPack | None:
        return self._by_version.get((pack_id, version))

    def by_sha256(self, sha256: str) -> LoadedPack | None:
        return self._by_sha.get(sha256)

    def resolve(self, ref: PolicyRef) -> LoadedPack | None:
        """The exact pack a past decision cites; None if that text is not loaded."""
        loaded = self._by_sha.get(ref.sha256)
        if loaded is None or loaded.id != ref.id or loaded.version != ref.version:
            return None
        return loaded

    @property
    def baseline(self) -> LoadedPack:
        if self._baseline is None:
            raise LookupError("paket nasional (baseline) belum dimuat")
        return self._baseline

    def for_region(self, region: str) -> LoadedPack | None:
        return self._by_region.get(region)

    def timezone_for(self, region: str) -> str:
        regional = self.for_region(region)
        return regional.pack.timezone if regional is not None else self.baseline.pack.timezone

    def in_force(self, region: str, kind: RequestKind, dates: Iterable[date]) -> LoadedPack | None:
        """The pack that judges this request, or None when its dates straddle a window edge."""
        return select_pack(self.for_region(region), self.baseline, kind, dates)


def select_pack(
    regional: LoadedPack | None, baseline: LoadedPack, kind: RequestKind, dates: Iterable[date]
) -> LoadedPack | None:
    """Leave is judged by the region's pack; flexible work by it only inside its windows; a trip abroad by the
    region's pack when it routes such trips, else by the baseline.

    Leave (PP 11/2017) applies all year, so a region pack carries its own leave section and judges leave on
    any date. Flexible work inside a circular's window follows the circular; outside it, PermenPANRB 4/2025
    (the baseline). A flexible request with dates on both sides gets None: the caller refuses and asks for
    two requests, because one request is judged by one pack.
    """
    if regional is None:
        return baseline
    if kind.is_leave:
        return regional
    if kind.is_travel_abroad:
        # Permission to travel abroad is needed on any day: the region's route if its pack has one, else the
        # national one.
        routed = any(kind in route.kinds for route in regional.pack.routing.base)
        return regional if routed else baseline
    inside = [d in regional.window_dates for d in dates]
    if all(inside):
        return regional
    if not any(inside):
        return baseline
    return None
