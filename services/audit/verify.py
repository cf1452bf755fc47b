"""Verification of the hash chains: pure and streaming, so it runs in constant memory per stream head.

Any change to a stored event — a byte of the payload, the actor, a timestamp, the order, a deleted or an
inserted row — breaks a recomputed hash or a link, and the first bad position is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eventstore.chain import chain_hash, content_hash, event_hash


@dataclass
class VerifyReport:
    ok: bool = True
    events_checked: int = 0
    first_bad_position: int | None = None
    reason: str | None = None
    streams_checked: int = 0
    head_position: int = 0
    head_chain_hash: str | None = None
    checkpoints_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ChainVerifier:
    """Feed events in position order; the first inconsistency is kept."""

    start_position: int = 0
    start_chain_hash: str | None = None
    stream_heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    report: VerifyReport = field(default_factory=VerifyReport)
    trust_stream_starts: bool = False

    def __post_init__(self) -> None:
        self._expected = self.start_position + 1
        self._chain = self.start_chain_hash

    def _fail(self, position: int, reason: str) -> None:
        if self.report.ok:
            self.report.ok = False
            self.report.first_bad_position = position
            self.report.reason = reason

    def feed(self, event: dict[str, Any]) -> None:
        report = self.report
        position = int(event["position"])
        report.events_checked += 1
        if not report.ok:
            return
        if position != self._expected:
            kind = "deleted or missing" if position > self._expected else "duplicated or reordered"
            self._fail(
                min(position, self._expected),
                f"position {self._expected} expected, found {position} ({kind})",
            )
            return
        self._expected += 1
        if content_hash(event) != event["content_hash"]:
            self._fail(position, "content does not match its hash (payload, actor, time or metadata changed)")
            return
        stream = event["stream_id"]
        head = self.stream_heads.get(stream)
        if head is None:
            if not self.trust_stream_starts and (event["version"] != 1 or event["prev_hash"] is not None):
                self._fail(position, f"stream {stream} does not start at version 1")
                return
        else:
            if event["version"] != head[0] + 1:
                self._fail(position, f"stream {stream}: version {event['version']} follows {head[0]}")
                return
            if event["prev_hash"] != head[1]:
                self._fail(position, f"stream {stream}: link to the previous event is broken")
                return
        recomputed = event_hash(
            event["prev_hash"],
            event["content_hash"],
            stream,
            event["version"],
            position,
            event["recorded_at"],
        )
        if recomputed != event["hash"]:
            self._fail(position, "event hash does not match (version, position or recording time changed)")
            return
        expected_chain = chain_hash(self._chain, event["hash"], position)
        if expected_chain != event["chain_hash"]:
            self._fail(position, "global chain broken")
            return
        self._chain = expected_chain
        self.stream_heads[stream] = (event["version"], event["hash"])
        report.head_position = position
        report.head_chain_hash = expected_chain

    def feed_all(self, events: Iterable[dict[str, Any]]) -> VerifyReport:
        for event in events:
            self.feed(event)
        return self.finish()

    def finish(self) -> VerifyReport:
        self.report.streams_checked = len(self.stream_heads)
        return self.report
