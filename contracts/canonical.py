"""Canonical JSON: the one byte representation that hashes are computed over.

Sorted keys, no whitespace, UTF-8 text (no \\u escapes beyond what JSON requires), timestamps as UTC with
microseconds. orjson produces it (a verifier recomputes a hash per event, so speed matters); for every
value without floats its output is byte-identical to `json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`, which is what earlier releases wrote (a property test holds both to that). Values orjson
refuses (integers beyond 64 bits, non-string keys) take the standard library path, so one value always
has one rendering. Floats render as their shortest round-trip form; no event type carries floats.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def format_utc(value: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC (the store's SQL `lentur_ts` writes the same)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime in canonical JSON")
    if value.utcoffset():
        value = value.astimezone(UTC)
    if 1000 <= value.year <= 9999:
        # isoformat is C and several times faster than strftime; with a zero offset it ends in "+00:00".
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not canonicalisable: {type(value).__name__}")


def canonical_bytes(value: Any) -> bytes:
    """The canonical JSON as UTF-8 bytes (what is hashed)."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return _stdlib(value).encode("utf-8")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, timestamps as UTC with microseconds."""
    return canonical_bytes(value).decode("utf-8")


def _stdlib(value: Any) -> str:
    return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Digits to "1", everything else to " ": a run of 19 digits becomes a plain substring search (a regular
# expression over text full of 18-digit NIPs costs ten times more).
_DIGIT_MASK = bytes(0x31 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_NINETEEN_DIGITS = b"1" * 19


def loads(data: str | bytes | bytearray | memoryview) -> Any:
    """Parse JSON text exactly.

    orjson reads integers beyond 64 bits as floats, which would change their canonical form; text with a
    run of 19 or more digits (almost always inside a string, where it is harmless) takes the standard
    library path, which reads every integer exactly.
    """
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if raw.translate(_DIGIT_MASK).find(_NINETEEN_DIGITS) >= 0:
        return json.loads(raw)
    return orjson.loads(raw)


def normalise(value: Any) -> Any:
    """The JSON value as it will be read back from storage (plain dicts, lists, strings, numbers)."""
    return loads(canonical_bytes(value))
