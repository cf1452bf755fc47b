"""Pure tests: canonical JSON, the hash chain, the streaming verifier, and the event contracts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.canonical import canonical_json
from contracts.evaluation import RequestDraft
from contracts.events import EVENT_TYPES, DecisionRecorded, RequestSubmitted, parse_payload
from eventstore.chain import chain_hash, content_hash, event_hash
from services.audit.verify import ChainVerifier

T0 = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)


def build_log(n_streams: int = 3, per_stream: int = 4) -> list[dict]:
    """A correctly chained log, built with the same formulas the store's SQL uses."""
    events: list[dict] = []
    heads: dict[str, tuple[int, str]] = {}
    chain = None
    position = 0
    for i in range(per_stream):
        for s in range(n_streams):
            stream = f"request-{s}"
            position += 1
            version, prev = heads.get(stream, (0, None))
            event = {
                "event_id": uuid.uuid5(uuid.NAMESPACE_OID, f"{stream}-{i}"),
                "stream_id": stream,
                "type": "Something",
                "schema_version": 1,
                "occurred_at": T0 + timedelta(minutes=position),
                "actor": "199003132015021001",
                "on_behalf_of": None,
                "correlation_id": "c",
                "causation_id": None,
                "policy": {"id": "kendari", "version": "1", "sha256": "ab"},
                "clock": "simulated",
                "payload": {"n": i, "text": "Cuti ✓", "nested": {"b": 1, "a": [1, 2]}},
                "version": version + 1,
                "position": position,
                "recorded_at": T0 + timedelta(minutes=position, seconds=1),
                "prev_hash": prev,
            }
            event["content_hash"] = content_hash(event)
            event["hash"] = event_hash(prev, event["content_hash"], stream, version + 1, position, event["recorded_at"])
            chain = chain_hash(chain, event["hash"], position)
            event["chain_hash"] = chain
            heads[stream] = (version + 1, event["hash"])
            events.append(event)
    return events


def test_canonical_json_is_order_independent_and_utf8() -> None:
    a = canonical_json({"b": 1, "a": {"d": "é", "c": [2, 1]}})
    b = canonical_json({"a": {"c": [2, 1], "d": "é"}, "b": 1})
    assert a == b == '{"a":{"c":[2,1],"d":"é"},"b":1}'


def test_canonical_json_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        canonical_json({"t": datetime(2025, 12, 22)})


def test_an_intact_log_verifies() -> None:
    log = build_log()
    report = ChainVerifier().feed_all(log)
    assert report.ok and report.events_checked == len(log) and report.streams_checked == 3
    assert report.head_chain_hash == log[-1]["chain_hash"]


@pytest.mark.parametrize(
    ("tamper", "bad_position"),
    [
        (lambda log: log[4]["payload"].update(n=99), 5),
        (lambda log: log[6].update(actor="197001011996062169"), 7),
        (lambda log: log[2].update(occurred_at=log[2]["occurred_at"] + timedelta(seconds=1)), 3),
        (lambda log: log[7].update(recorded_at=log[7]["recorded_at"] + timedelta(microseconds=1)), 8),
        (lambda log: log.pop(5), 6),
        (lambda log: log.insert(3, dict(log[3])), 4),
        (lambda log: log.__setitem__(slice(3, 5), [log[4], log[3]]), 4),
    ],
    ids=["payload", "actor", "occurred_at", "recorded_at", "deleted", "inserted", "reordered"],
)
def test_any_change_is_detected_at_the_right_position(tamper, bad_position: int) -> None:
    log = build_log()
    tamper(log)
    report = ChainVerifier().feed_all(log)
    assert not report.ok
    assert report.first_bad_position == bad_position, report.reason


def test_a_consistent_rewrite_of_one_event_is_still_caught_by_the_global_chain() -> None:
    log = build_log()
    victim = log[5]
    victim["payload"] = {"n": 1000}
    victim["content_hash"] = content_hash(victim)
    victim["hash"] = event_hash(
        victim["prev_hash"],
        victim["content_hash"],
        victim["stream_id"],
        victim["version"],
        victim["position"],
        victim["recorded_at"],
    )
    report = ChainVerifier().feed_all(log)
    assert not report.ok and report.first_bad_position == 6


def test_every_event_type_has_a_unique_name_and_version() -> None:
    assert len(EVENT_TYPES) == len({cls.TYPE for cls in EVENT_TYPES.values()})
    assert all(cls.SCHEMA_VERSION >= 1 for cls in EVENT_TYPES.values())


def test_event_payloads_are_frozen_and_strict() -> None:
    decision = DecisionRecorded(
        task_id="t", request_id=uuid.uuid4(), round=1, step=0, tier="UNIT_HEAD", decision="approve"
    )
    with pytest.raises(ValidationError):
        decision.comment = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        parse_payload("DecisionRecorded", {**decision.model_dump(mode="json"), "surprise": 1})
    round_trip = parse_payload("DecisionRecorded", decision.model_dump(mode="json"))
    assert round_trip == decision


def test_request_submitted_carries_no_plaintext_personal_data() -> None:
    fields = set(RequestSubmitted.model_fields)
    assert not fields & {"reason", "work_plan", "location_text"}


@pytest.mark.parametrize("bad", [{"dates": []}, {"kind": "WFX"}, {"reason": ""}, {"reason": "a\x00b"}])
def test_request_draft_refuses_bad_input(bad: dict) -> None:
    good = {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Merawat anak"}
    with pytest.raises(ValidationError):
        RequestDraft.model_validate({**good, **bad})
