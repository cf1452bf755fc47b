"""Verification of the hash chains and the signed checkpoints: pure and streaming.

Any change to a stored event — a byte of the payload, the actor, a timestamp, the order, a deleted or an
inserted row — breaks a recomputed hash or a link, and the first bad position is reported. An operator who
rewrites the log and recomputes every hash with the same formulas is caught by the first checkpoint signed
before the rewrite: its signed chain hash no longer matches the recomputed chain at its position.

Events may come from the store (timestamps as datetimes or as canonical text) or from a bundle, where events
of other regions are *redacted*: their content is left out but their hashes are kept, so the chains still
verify end to end without revealing someone else's records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from contracts.canonical import loads
from eventstore.chain import CONTENT_FIELDS, chain_hash, content_digest, content_hash, event_hash
from services.audit.signing import key_id_of, signature_valid

CHECKPOINT_TYPE = "CheckpointSigned"


class Check(IntEnum):
    """The checks of one event, in the order they are made: of two failures at one position, the lower one is
    the one reported."""

    ORDER = 0
    CONTENT = 1
    LINK = 2
    EVENT_HASH = 3
    CHAIN = 4
    CHECKPOINT = 5


# A checkpoint signs the head it read just before it was appended; only a few events can slip in between,
# so the chain hashes of this many recent positions are kept to check it against.
CHECKPOINT_REACH = 65536


def stream_start_problem(stream: str, version: int, prev_hash: str | None) -> str | None:
    """Why the first event of a stream cannot be its start, or None."""
    if version != 1 or prev_hash is not None:
        return f"stream {stream} does not start at version 1"
    return None


def stream_link_problem(stream: str, head: tuple[int, str], version: int, prev_hash: str | None) -> str | None:
    """Why an event does not follow `head` (version, hash) of its stream, or None."""
    if version != head[0] + 1:
        return f"stream {stream}: version {version} follows {head[0]}"
    if prev_hash != head[1]:
        return f"stream {stream}: link to the previous event is broken"
    return None


@dataclass
class SignerSeen:
    key_id: str
    public_key: str
    trusted: bool
    checkpoints: int = 0


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
    last_checkpoint: dict[str, Any] | None = None
    signers: list[dict[str, Any]] = field(default_factory=list)
    suspect_range: list[int] | None = None
    redacted_events: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ChainVerifier:
    """Feed events in position order; the first inconsistency is kept.

    `trusted_keys` (key id → base64 public key): when given, a checkpoint signed by any other key fails.
    When None, any valid signature counts, and the report marks its key as not trusted.
    """

    start_position: int = 0
    start_chain_hash: str | None = None
    stream_heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    report: VerifyReport = field(default_factory=VerifyReport)
    trust_stream_starts: bool = False
    trusted_keys: Mapping[str, str] | None = None
    # For a segment of the log verified on its own (services/audit/parallel.py): checkpoints are kept, not
    # checked, since they may sign a position before the segment; and where a stream's start is trusted, its
    # first event here is kept, to be linked to the segment before.
    defer_checkpoints: bool = False
    deferred_checkpoints: list[tuple[int, Any]] = field(default_factory=list)
    first_links: dict[str, tuple[int, int, str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._expected = self.start_position + 1
        self._chain = self.start_chain_hash
        self._recent: list[tuple[int, str | None]] = [(-1, None)] * CHECKPOINT_REACH
        self._recent[self.start_position % CHECKPOINT_REACH] = (self.start_position, self.start_chain_hash)
        self._signers: dict[str, SignerSeen] = {}
        self._last_good_checkpoint = self.start_position if self.start_position else 0
        self.report.head_position = self.start_position
        self.report.head_chain_hash = self.start_chain_hash
        self.failed_check: Check | None = None
        self.failed_while_at: int | None = None  # the event being checked when it failed

    def _fail(self, position: int, reason: str, check: Check, *, while_at: int | None = None) -> None:
        if self.report.ok:
            self.report.ok = False
            self.report.first_bad_position = position
            self.report.reason = reason
            self.failed_check = check
            self.failed_while_at = position if while_at is None else while_at

    def feed(self, event: Mapping[str, Any]) -> None:
        """One event as a mapping with the stored columns (a bundle line, a dict of a row)."""
        redacted = bool(event.get("redacted", False))
        self.feed_parts(
            int(event["position"]),
            event["stream_id"],
            event["version"],
            event["type"],
            event["recorded_at"],
            event["content_hash"],
            event["prev_hash"],
            event["hash"],
            event["chain_hash"],
            None if redacted else {name: event.get(name) for name in CONTENT_FIELDS},
        )

    def feed_parts(
        self,
        position: int,
        stream: str,
        version: int,
        type_: str,
        recorded_at: datetime | str,
        stored_content_hash: str,
        prev_hash: str | None,
        hash_: str,
        stored_chain_hash: str,
        content: dict[str, Any] | None,
        exact_content: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """The hot path. `content` holds exactly the content fields, or None for a redacted event.

        `exact_content`, when given, builds the content again the slow, exact way; it is consulted only when
        `content` does not match its hash (a caller may build `content` with a fast parser that is exact for all
        but rare values, such as integers beyond 64 bits), so the verdict is always the exact one.
        """
        report = self.report
        report.events_checked += 1
        if not report.ok:
            return
        if position != self._expected:
            self.out_of_order(position)
            return
        self._expected += 1
        if content is None:
            report.redacted_events += 1
        elif content_digest(content) != stored_content_hash and (
            exact_content is None or content_digest(exact_content()) != stored_content_hash
        ):
            self._fail(
                position, "content does not match its hash (payload, actor, time or metadata changed)", Check.CONTENT
            )
            return
        head = self.stream_heads.get(stream)
        if head is None:
            if self.trust_stream_starts:
                self.first_links[stream] = (position, version, prev_hash)
            else:
                reason = stream_start_problem(stream, version, prev_hash)
                if reason is not None:
                    self._fail(position, reason, Check.LINK)
                    return
        else:
            reason = stream_link_problem(stream, head, version, prev_hash)
            if reason is not None:
                self._fail(position, reason, Check.LINK)
                return
        if event_hash(prev_hash, stored_content_hash, stream, version, position, recorded_at) != hash_:
            self._fail(
                position, "event hash does not match (version, position or recording time changed)", Check.EVENT_HASH
            )
            return
        expected_chain = chain_hash(self._chain, hash_, position)
        if expected_chain != stored_chain_hash:
            self._fail(position, "global chain broken", Check.CHAIN)
            return
        self._chain = expected_chain
        self._recent[position % CHECKPOINT_REACH] = (position, expected_chain)
        self.stream_heads[stream] = (version, hash_)
        report.head_position = position
        report.head_chain_hash = expected_chain
        if content is not None and type_ == CHECKPOINT_TYPE:
            if self.defer_checkpoints:
                self.deferred_checkpoints.append((position, content["payload"]))
            else:
                self.check_checkpoint(position, content["payload"])

    def out_of_order(self, found: int) -> None:
        """The failure of meeting position `found` where the next one was expected (without counting it)."""
        kind = "deleted or missing" if found > self._expected else "duplicated or reordered"
        self._fail(
            min(found, self._expected), f"position {self._expected} expected, found {found} ({kind})", Check.ORDER
        )

    def _remembered(self, up_to: int) -> tuple[bool, str | None]:
        remembered_position, remembered_chain = self._recent[up_to % CHECKPOINT_REACH]
        return remembered_position == up_to, remembered_chain

    def check_checkpoint(
        self, position: int, payload: Any, recall: Callable[[int], tuple[bool, str | None]] | None = None
    ) -> None:
        """The checkpoint recorded at `position`. `recall(up_to)` says whether the chain hash at `up_to` is
        known here and what it is; by default the chain hashes this verifier computed for recent positions."""
        if isinstance(payload, str | bytes):
            payload = loads(payload)
        report = self.report
        try:
            up_to = int(payload["up_to_position"])
            signed_chain = str(payload["chain_hash"])
            public_key = str(payload["public_key"])
            signature = str(payload["signature"])
        except (KeyError, TypeError, ValueError):
            self._fail(position, "checkpoint is malformed", Check.CHECKPOINT)
            return
        key_id = key_id_of(public_key)
        if key_id != payload.get("key_id"):
            self._fail(position, "checkpoint names a key id that is not its public key's", Check.CHECKPOINT)
            return
        if not signature_valid(public_key, up_to, signed_chain, signature):
            self._fail(position, f"checkpoint signature by key {key_id} is not valid", Check.CHECKPOINT)
            return
        trusted = self.trusted_keys is not None and self.trusted_keys.get(key_id) == public_key
        if self.trusted_keys is not None and not trusted:
            self._fail(
                position, f"checkpoint signed by key {key_id}, which is not among the trusted keys", Check.CHECKPOINT
            )
            return
        if not self.start_position <= up_to < position:
            self._fail(
                position,
                f"checkpoint at {position} claims position {up_to}, outside what it can sign",
                Check.CHECKPOINT,
            )
            return
        known, remembered_chain = (recall or self._remembered)(up_to)
        if not known:
            self._fail(
                position, f"checkpoint at {position} signs position {up_to}, too far back to check", Check.CHECKPOINT
            )
            return
        if remembered_chain != signed_chain:
            # The chain recomputes consistently but not to what was signed: everything after the last
            # checkpoint that matched, up to the signed position, is suspect.
            self._fail(
                up_to,
                f"the chain at position {up_to} does not match the checkpoint signed by key {key_id} "
                f"(recorded at position {position}): the log was rewritten",
                Check.CHECKPOINT,
                while_at=position,
            )
            report.suspect_range = [self._last_good_checkpoint + 1, up_to]
            return
        signer = self._signers.get(key_id)
        if signer is None:
            signer = self._signers[key_id] = SignerSeen(key_id=key_id, public_key=public_key, trusted=trusted)
        signer.checkpoints += 1
        report.checkpoints_checked += 1
        self._last_good_checkpoint = max(self._last_good_checkpoint, up_to)
        report.last_checkpoint = {
            "position": position,
            "up_to_position": up_to,
            "chain_hash": signed_chain,
            "key_id": key_id,
        }

    def feed_all(self, events: Iterable[Mapping[str, Any]]) -> VerifyReport:
        for event in events:
            self.feed(event)
        return self.finish()

    def finish(self) -> VerifyReport:
        report = self.report
        report.streams_checked = len(self.stream_heads)
        report.signers = [dict(s.__dict__) for s in self._signers.values()]
        if any(not s.trusted for s in self._signers.values()):
            report.warnings.append(
                "tidak ada kunci publik tepercaya yang diberikan: tanda tangan checkpoint sah secara matematis, "
                "tetapi cocokkan key_id dengan kunci yang diumumkan pemda sebelum mempercayainya"
            )
        return report


def verify_stream(events: Iterable[Mapping[str, Any]]) -> tuple[bool, int | None, str | None]:
    """One stream on its own (an inspector looking at one request): content, links and event hashes.

    The global chain needs every position, so it is left to the full verification.
    """
    previous: tuple[int, str] | None = None
    for event in events:
        position = int(event["position"])
        if content_hash(event) != event["content_hash"]:
            return False, position, "content does not match its hash"
        expected_version, expected_prev = (previous[0] + 1, previous[1]) if previous else (1, None)
        if event["version"] != expected_version or event["prev_hash"] != expected_prev:
            return False, position, "link to the previous event of the stream is broken"
        recomputed = event_hash(
            event["prev_hash"],
            event["content_hash"],
            event["stream_id"],
            event["version"],
            position,
            event["recorded_at"],
        )
        if recomputed != event["hash"]:
            return False, position, "event hash does not match"
        previous = (event["version"], event["hash"])
    return True, None, None
