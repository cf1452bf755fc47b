"""Rule-by-rule differences between two policy packs, each rule with its citation before and after.

Rules are matched by id (ids are unique within a pack and stable across versions of a circular), so a
changed cap, a dropped route tier or a reworded clause shows as one changed rule with the fields that
moved. Pure and deterministic: values that are sets in the schema are listed sorted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from enum import Enum
from typing import Any

from contracts.policy_pack import LegalBasis, PolicyPack, Rule
from policy.packs import LoadedPack

HEADER_FIELDS = ("id", "version", "scope", "region", "name", "timezone")
SECTION_LABELS = {
    "windows": "masa kerja fleksibel",
    "flexible.allow": "kerja fleksibel: diizinkan",
    "flexible.restrict": "kerja fleksibel: dilarang",
    "flexible.location": "kerja fleksibel: lokasi",
    "flexible.unit_caps": "batas harian unit",
    "flexible.weekly_limit": "batas mingguan",
    "routing.base": "rute dasar",
    "routing.extra": "jenjang tambahan",
    "routing.upward": "jenjang ke atas",
    "routing.ppk_own_request": "permohonan PPK sendiri",
    "leave.kinds": "jenis cuti",
    "leave.annual": "hak cuti tahunan",
    "obligations": "kewajiban",
    "notices": "catatan",
    "piket": "piket",
    "staffing_minimums": "minimum kehadiran",
    "timers": "pengingat dan eskalasi",
    "resubmit": "pengajuan ulang",
    "general.working_days": "ketentuan umum",
    "general.past_date": "ketentuan umum",
    "general.one_arrangement_per_day": "ketentuan umum",
    "general.single_policy": "ketentuan umum",
}
CHANGE_LABELS = {"added": "ditambah", "removed": "dihapus", "changed": "diubah"}


def plain(value: Any) -> Any:
    """JSON values with sets sorted, so the same packs always give the same bytes."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _iso_duration(value)
    return value


def _iso_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "") if (days or clock) else "PT0S"


def _section(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str))


def _path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _rules(pack: PolicyPack) -> dict[str, tuple[tuple[str | int, ...], Rule]]:
    return {rule.id: (path, rule) for path, rule in pack.rules()}


def _fields(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = plain(rule.model_dump())
    data.pop("id", None)
    return data


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _flatten(f"{prefix}.{key}" if prefix else key, value[key])
    else:
        yield prefix, value


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    old, new = dict(_flatten("", before)), dict(_flatten("", after))
    return [
        {"field": name, "before": old.get(name), "after": new.get(name)}
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def _side(pack: PolicyPack, path: tuple[str | int, ...], rule: Rule) -> dict[str, Any]:
    return {
        "path": _path(path),
        "clause": rule.clause,
        "source": pack.source_of(rule),
        "citation": pack.citation(rule).model_dump(mode="json"),
        "fields": _fields(rule),
    }


def _basis(basis: LegalBasis) -> dict[str, Any]:
    return {k: plain(v) for k, v in basis.model_dump().items()}


def _header(loaded: LoadedPack) -> dict[str, Any]:
    return {
        "id": loaded.id,
        "version": loaded.version,
        "sha256": loaded.sha256,
        "region": loaded.pack.region,
        "name": loaded.pack.name,
        "scope": loaded.pack.scope,
        "timezone": loaded.pack.timezone,
    }


def diff_packs(a: LoadedPack, b: LoadedPack, *, include_unchanged: bool = False) -> dict[str, Any]:
    """What B changes relative to A: header fields, legal basis entries and every rule, in pack order."""
    before, after = _rules(a.pack), _rules(b.pack)
    order = {rid: i for i, rid in enumerate([*after, *(r for r in before if r not in after)])}
    rules = []
    counts = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}
    for rule_id in sorted(order, key=order.__getitem__):
        old, new = before.get(rule_id), after.get(rule_id)
        if old is None and new is not None:
            change = "added"
        elif new is None and old is not None:
            change = "removed"
        else:
            assert old is not None and new is not None
            moved = _path(old[0]) != _path(new[0])
            same = _fields(old[1]) == _fields(new[1]) and a.pack.source_of(old[1]) == b.pack.source_of(new[1])
            change = "unchanged" if same and not moved else "changed"
        counts[change] += 1
        if change == "unchanged" and not include_unchanged:
            continue
        entry: dict[str, Any] = {
            "rule_id": rule_id,
            "change": change,
            "section": _section((new or old)[0]),  # type: ignore[index]
            "before": _side(a.pack, *old) if old is not None else None,
            "after": _side(b.pack, *new) if new is not None else None,
        }
        if old is not None and new is not None:
            changes = field_changes(_fields(old[1]), _fields(new[1]))
            if _path(old[0]) != _path(new[0]):
                changes.insert(0, {"field": "path", "before": _path(old[0]), "after": _path(new[0])})
            if a.pack.source_of(old[1]) != b.pack.source_of(new[1]):
                changes.append(
                    {"field": "source", "before": a.pack.source_of(old[1]), "after": b.pack.source_of(new[1])}
                )
            entry["fields"] = changes
        else:
            entry["fields"] = []
        rules.append(entry)

    bases_a = {x.id: _basis(x) for x in a.pack.legal_basis}
    bases_b = {x.id: _basis(x) for x in b.pack.legal_basis}
    legal = []
    for basis_id in [*bases_b, *(x for x in bases_a if x not in bases_b)]:
        old_b, new_b = bases_a.get(basis_id), bases_b.get(basis_id)
        if old_b == new_b:
            continue
        legal.append(
            {
                "id": basis_id,
                "change": "added" if old_b is None else "removed" if new_b is None else "changed",
                "before": old_b,
                "after": new_b,
                "fields": field_changes(old_b or {}, new_b or {}),
            }
        )
    header = [
        {"field": name, "before": plain(getattr(a.pack, name)), "after": plain(getattr(b.pack, name))}
        for name in HEADER_FIELDS
        if getattr(a.pack, name) != getattr(b.pack, name)
    ]
    return {
        "a": _header(a),
        "b": _header(b),
        "same": a.sha256 == b.sha256,
        "summary": counts,
        "header": header,
        "legal_basis": legal,
        "rules": rules,
    }
