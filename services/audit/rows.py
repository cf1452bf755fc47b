"""Stored rows into the pure verifier: the loop a single pass (service.py) and every segment of a parallel one
(parallel.py) run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import asyncpg
import orjson

from contracts.canonical import canonical_bytes, loads
from services.audit.verify import ChainVerifier


def feed_rows(verifier: ChainVerifier, rows: Sequence[asyncpg.Record], policies: dict[str, Policy]) -> None:
    """Rows in VERIFY_COLUMNS order. This loop is most of the time verify takes, hence positional access.

    Two shortcuts, neither of which can change a verdict: a log names few policies, so each one's canonical
    JSON is made once and embedded as it is; and payloads are read with orjson alone, which is exact for every
    value but integers beyond 64 bits. Only content that then does not match its hash is read again the exact
    way (`contracts.canonical.loads`) before it is called changed.
    """
    feed = verifier.feed_parts
    fast_loads = orjson.loads
    for r in rows:
        policy_text = r[12]
        policy: Policy | None = None
        if policy_text is not None:
            policy = policies.get(policy_text)
            if policy is None:
                parsed = loads(policy_text)
                policy = policies[policy_text] = Policy(parsed, orjson.Fragment(canonical_bytes(parsed)))
        content = {
            "event_id": r[1],
            "stream_id": r[2],
            "type": r[4],
            "schema_version": r[5],
            "occurred_at": r[6],
            "actor": r[8],
            "on_behalf_of": r[9],
            "correlation_id": r[10],
            "causation_id": r[11],
            "policy": None if policy is None else policy.canonical,
            "clock": r[13],
            "payload": fast_loads(r[14]),
        }
        feed(r[0], r[2], r[3], r[4], r[7], r[15], r[16], r[17], r[18], content, _exactly(content, policy, r[14]))


class Policy(NamedTuple):
    parsed: Any
    canonical: orjson.Fragment


def _exactly(content: dict[str, Any], policy: Policy | None, payload: str) -> Callable[[], dict[str, Any]]:
    def exact() -> dict[str, Any]:
        return content | {"policy": None if policy is None else policy.parsed, "payload": loads(payload)}

    return exact
