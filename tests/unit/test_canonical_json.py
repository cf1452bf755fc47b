"""Canonical JSON is what every hash covers: the fast writer and the verifier must produce the same bytes,
and the same bytes earlier releases wrote with the standard library."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.canonical import canonical_bytes, canonical_json, format_utc, loads, normalise
from eventstore.chain import content_hash
from eventstore.store import NewEvent


def stdlib_canonical(value: object) -> str:
    """The canonical form as the first release wrote it (json.dumps, sorted keys, compact, UTF-8)."""

    def default(v: object) -> object:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, uuid.UUID):
            return str(v)
        raise TypeError(type(v).__name__)

    return json.dumps(value, default=default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Every character a form field or a payload may hold, including the ones JSON must escape; no lone surrogates
# (they are not text and neither encoder accepts them as UTF-8).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=30,
)
moments = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))]),
)


@settings(max_examples=400)
@given(json_values)
def test_orjson_writes_exactly_what_the_standard_library_wrote(value: object) -> None:
    assert canonical_json(value) == stdlib_canonical(value)
    assert canonical_bytes(value) == stdlib_canonical(value).encode()


@settings(max_examples=300)
@given(moments)
def test_timestamps_render_as_before(moment: datetime) -> None:
    assert format_utc(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert canonical_json({"t": moment}) == stdlib_canonical({"t": moment})


@settings(max_examples=200)
@given(json_values, moments, st.uuids(), st.sampled_from(["real", "simulated"]))
def test_writer_and_verifier_hash_the_same_bytes(
    payload: object, occurred_at: datetime, event_id: uuid.UUID, clock: str
) -> None:
    """The writer hashes Python values; the verifier hashes what storage gives back (text, parsed JSON)."""
    event = NewEvent(
        event_id=event_id,
        stream_id="request-x",
        type="Something",
        schema_version=1,
        payload={"value": payload},
        occurred_at=occurred_at,
        actor="199003132015021001",
        correlation_id="c",
        policy={"id": "kendari", "version": "1.0", "sha256": "ab"},
        clock=clock,
    )
    written = content_hash(event.content_fields())
    as_stored = {
        **json.loads(stdlib_canonical(event.content_fields())),
        "event_id": str(event_id),
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert content_hash(as_stored) == written
    assert content_hash({**as_stored, "occurred_at": occurred_at, "event_id": event_id}) == written


@settings(max_examples=300)
@given(json_values)
def test_what_is_read_back_is_what_was_written(value: object) -> None:
    assert loads(canonical_bytes(value)) == value
    assert loads(canonical_json(value)) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_to_the_same_bytes(value: float) -> None:
    once = canonical_bytes({"x": value})
    assert canonical_bytes(loads(once)) == once
    assert normalise({"x": value}) == {"x": value}


def test_values_orjson_refuses_take_the_standard_path() -> None:
    huge = 10**30
    assert canonical_json({"n": huge, "b": [1]}) == '{"b":[1],"n":1000000000000000000000000000000}'
    assert loads(b'{"n": 1000000000000000000000000000000}') == {"n": huge}
