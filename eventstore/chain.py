"""Hash-chain arithmetic, pure. The store's SQL computes the same formulas; verification recomputes them.

content_hash = sha256(canonical JSON of what the writer said)
hash         = sha256(prev_hash | content_hash | stream_id | version | position | recorded_at)
chain_hash   = sha256(prev_chain_hash | hash | position)          (the global chain, in position order)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from contracts.canonical import canonical_json

CONTENT_FIELDS = (
    "event_id",
    "stream_id",
    "type",
    "schema_version",
    "occurred_at",
    "actor",
    "on_behalf_of",
    "correlation_id",
    "causation_id",
    "policy",
    "clock",
    "payload",
)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(fields: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({name: fields.get(name) for name in CONTENT_FIELDS}))


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str | None, content: str, stream_id: str, version: int, position: int, recorded_at: datetime
) -> str:
    return sha256_hex(f"{prev_hash or ''}|{content}|{stream_id}|{version}|{position}|{format_timestamp(recorded_at)}")


def chain_hash(prev_chain_hash: str | None, hash_: str, position: int) -> str:
    return sha256_hex(f"{prev_chain_hash or ''}|{hash_}|{position}")
