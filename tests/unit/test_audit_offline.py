"""Checkpoints, bundles and replay explanations without any database: what an inspector's laptop runs."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.canonical import canonical_bytes, format_utc, loads
from contracts.events import EventEnvelope
from eventstore.chain import chain_hash, content_hash, event_hash
from services.audit.bundle import EVENTS, BundleWriter, PackText, skeleton, verify_bundle
from services.audit.replay import explain_request, fold_until, local_time, parse_time
from services.audit.signing import CheckpointSigner, generate_private_key, parse_private_key, parse_public_key
from services.audit.verify import ChainVerifier
from services.kernel.privacy import cutoff_period

T0 = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)
STAFF, HEAD, PLT, HOLDER = "199505042021012163", "197506201999081160", "197001011996062169", "198110052005061165"
PACK_TEXT = "id: kendari\nversion: 2025.12.1\n"
PACK = {"id": "kendari", "version": "2025.12.1", "sha256": hashlib.sha256(PACK_TEXT.encode()).hexdigest()}


class Log:
    """Events in stored form (what a bundle line holds), chained with the store's formulas."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.heads: dict[str, tuple[int, str]] = {}

    def add(self, stream: str, type_: str, payload: dict[str, Any], *, actor: str = "system", **extra: Any) -> dict:
        position = len(self.events) + 1
        version, prev = self.heads.get(stream, (0, None))
        event: dict[str, Any] = {
            "position": position,
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{version + 1}")),
            "stream_id": stream,
            "version": version + 1,
            "type": type_,
            "schema_version": 2 if type_ == "CheckpointSigned" else 1,
            "occurred_at": format_utc(T0 + timedelta(minutes=position)),
            "recorded_at": format_utc(T0 + timedelta(minutes=position, seconds=1)),
            "actor": actor,
            "on_behalf_of": None,
            "correlation_id": "c",
            "causation_id": None,
            "policy": PACK if stream.startswith("request-") else None,
            "clock": "real",
            "payload": payload,
            "prev_hash": prev,
            **extra,
        }
        self.seal(event)
        self.events.append(event)
        self.heads[stream] = (event["version"], event["hash"])
        return event

    def seal(self, event: dict[str, Any]) -> None:
        previous_chain = self.events[event["position"] - 2]["chain_hash"] if event["position"] > 1 else None
        event["content_hash"] = content_hash(event)
        event["hash"] = event_hash(
            event["prev_hash"],
            event["content_hash"],
            event["stream_id"],
            event["version"],
            event["position"],
            event["recorded_at"],
        )
        event["chain_hash"] = chain_hash(previous_chain, event["hash"], event["position"])

    def checkpoint(self, signer: CheckpointSigner) -> dict:
        head = self.events[-1]
        s = signer.sign(head["position"], head["chain_hash"])
        return self.add(
            "audit-checkpoints",
            "CheckpointSigned",
            {
                "up_to_position": s.up_to_position,
                "chain_hash": s.chain_hash,
                "algorithm": "ed25519",
                "key_id": s.key_id,
                "public_key": s.public_key,
                "signature": s.signature,
            },
        )

    def rewrite_from(self, position: int) -> None:
        """What an operator with the formulas but not the key can do: recompute every hash onwards."""
        self.heads = {}
        for event in self.events:
            if event["position"] >= position:
                head = self.heads.get(event["stream_id"])
                event["prev_hash"] = head[1] if head else None
                self.seal(event)
            self.heads[event["stream_id"]] = (event["version"], event["hash"])


REQUEST = str(uuid.UUID(int=7))


def request_log(signer: CheckpointSigner) -> Log:
    log = Log()
    people = [
        {"nip": STAFF, "name": "Putri Teguh", "region": "kendari", "opd_code": "DISHUB", "roles": []},
        {"nip": HEAD, "name": "Indah Sari", "region": "kendari", "opd_code": "DISHUB", "roles": ["unit_head"]},
        {"nip": PLT, "name": "Dewi Sari", "region": "kendari", "opd_code": "DISHUB", "roles": []},
        {"nip": HOLDER, "name": "Putri Hendra", "region": "kendari", "opd_code": "DISHUB", "roles": ["opd_head"]},
    ]
    for p in people:
        p.update(employee_type="PNS", opd_name="Dishub", opd_class="vital", unit_code="U1", unit_name="Bidang 1")
    log.add("directory", "DirectoryImported", {"sha256": "d", "rows": 4, "people": people})
    stream = f"request-{REQUEST}"
    citation = {
        "pack_id": "kendari",
        "pack_version": "2025.12.1",
        "rule_id": "route.opd-head",
        "source": "SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025",
        "clause": "Kepala perangkat daerah memberi persetujuan akhir.",
    }
    route = [
        {"tier": "UNIT_HEAD", "approver_nip": HEAD, "approver_name": "Indah Sari", "citation": citation},
        {
            "tier": "OPD_HEAD",
            "approver_nip": PLT,
            "approver_name": "Dewi Sari",
            "on_behalf_of": HOLDER,
            "citation": citation,
        },
    ]
    base = {"request_id": REQUEST}
    log.add(
        stream,
        "RequestSubmitted",
        {
            **base,
            "requester_nip": STAFF,
            "requester_name": "Putri Teguh",
            "region": "kendari",
            "opd_code": "DISHUB",
            "unit_code": "U1",
            "kind": "WFH",
            "dates": ["2025-12-29"],
            "body_sha256": "b",
        },
        actor=STAFF,
    )
    log.add(stream, "RouteDetermined", {**base, "round": 1, "timezone": "Asia/Makassar", "route": route})
    log.add(
        stream,
        "TaskAssigned",
        {**base, "task_id": "t0", "round": 1, "step": 0, "tier": "UNIT_HEAD", "assignee_nip": HEAD},
    )
    log.add(
        stream,
        "DecisionRecorded",
        {**base, "task_id": "t0", "round": 1, "step": 0, "tier": "UNIT_HEAD", "decision": "approve"},
        actor=HEAD,
    )
    log.checkpoint(signer)
    log.add(
        stream,
        "TaskAssigned",
        {**base, "task_id": "t1", "round": 1, "step": 1, "tier": "OPD_HEAD", "assignee_nip": PLT},
    )
    log.add(
        stream,
        "DecisionRecorded",
        {**base, "task_id": "t1", "round": 1, "step": 1, "tier": "OPD_HEAD", "decision": "approve"},
        actor=PLT,
        on_behalf_of=HOLDER,
    )
    log.add(stream, "RequestApproved", {**base, "round": 1, "final_tier": "OPD_HEAD"})
    log.checkpoint(signer)
    return log


@pytest.fixture(scope="module")
def signer() -> CheckpointSigner:
    return CheckpointSigner(generate_private_key())


def trusted(signer: CheckpointSigner) -> dict[str, str]:
    return {signer.key_id: signer.public_key}


def test_checkpoints_verify_and_name_their_key(signer: CheckpointSigner) -> None:
    log = request_log(signer)
    report = ChainVerifier(trusted_keys=trusted(signer)).feed_all(log.events)
    assert report.ok, report.reason
    assert report.checkpoints_checked == 2
    assert report.signers == [
        {"key_id": signer.key_id, "public_key": signer.public_key, "trusted": True, "checkpoints": 2}
    ]
    untrusted = ChainVerifier().feed_all(request_log(signer).events)
    assert untrusted.ok and untrusted.signers[0]["trusted"] is False and untrusted.warnings


def test_a_consistent_rewrite_is_caught_by_the_checkpoint_signed_before_it(signer: CheckpointSigner) -> None:
    log = request_log(signer)
    log.events[4]["payload"]["decision"] = "reject"  # position 5: the unit head's decision
    log.rewrite_from(5)
    plain = ChainVerifier().feed_all(log.events[:5])
    assert plain.ok  # every hash recomputes: the formulas alone cannot see this
    report = ChainVerifier(trusted_keys=trusted(signer)).feed_all(log.events)
    assert not report.ok
    assert report.first_bad_position == 5  # the position the first checkpoint signed
    assert report.suspect_range == [1, 5]
    assert "rewritten" in (report.reason or "")


def test_a_checkpoint_that_is_forged_or_signed_by_a_stranger_fails(signer: CheckpointSigner) -> None:
    stranger = CheckpointSigner(generate_private_key())
    log = request_log(stranger)
    report = ChainVerifier(trusted_keys=trusted(signer)).feed_all(log.events)
    assert not report.ok and report.first_bad_position == 6 and "not among the trusted" in (report.reason or "")

    log = request_log(signer)
    forged = log.events[5]
    forged["payload"]["chain_hash"] = "f" * 64
    log.rewrite_from(6)
    report = ChainVerifier().feed_all(log.events)
    assert not report.ok and report.first_bad_position == 6 and "signature" in (report.reason or "")


def test_keys_are_read_in_every_usual_form(signer: CheckpointSigner) -> None:
    key = generate_private_key()
    from services.audit.signing import private_key_pem

    pem = private_key_pem(key)
    seed = key.private_bytes_raw()
    for text in (pem, seed.hex(), __import__("base64").b64encode(seed).decode()):
        assert CheckpointSigner(parse_private_key(text)).public_key == CheckpointSigner(key).public_key
    public = CheckpointSigner(key).public_key
    assert parse_public_key(public) == public
    assert parse_public_key(__import__("base64").b64decode(public).hex()) == public
    with pytest.raises(ValueError):
        parse_private_key("not a key")


def make_bundle(
    log: Log,
    signer: CheckpointSigner,
    *,
    start: int = 0,
    first: int = 1,
    last: int | None = None,
    redact: set[int] = frozenset(),
) -> bytes:
    last = last or log.events[-1]["position"]
    buffer = io.BytesIO()
    writer = BundleWriter(buffer)
    writer.add(
        skeleton(e)
        if e["position"] in redact or not first <= e["position"] <= last and e["type"] != "CheckpointSigned"
        else e
        for e in log.events
        if e["position"] > start
    )
    writer.close(
        {
            "range": {"from": first, "to": last},
            "anchor": {
                "start_position": start,
                "start_chain_hash": log.events[start - 1]["chain_hash"] if start else None,
                "end_position": log.events[-1]["position"],
            },
        },
        packs=[PackText("kendari", "2025.12.1", PACK["sha256"], PACK_TEXT)],
        keys={signer.key_id: signer.public_key},
        sign=lambda data: {
            "key_id": signer.key_id,
            "public_key": signer.public_key,
            "signature": signer.sign_bytes(data),
        },
    )
    return buffer.getvalue()


def rewrite_zip(data: bytes, name: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item.filename, change(content) if item.filename == name else content)
    return out.getvalue()


def test_a_partial_bundle_verifies_offline_anchored_at_both_ends(signer: CheckpointSigner) -> None:
    log = request_log(signer)
    data = make_bundle(log, signer, start=5, first=7, last=8, redact={9})
    report = verify_bundle(io.BytesIO(data), trusted_keys=trusted(signer))
    out = report.as_dict()
    assert out["ok"], out
    assert out["anchored_start"] and out["anchored_end"]
    # positions 6..10: the first checkpoint (6) in full, 7 and 8 asked for, 9 redacted, the end checkpoint (10)
    assert out["events_checked"] == 5 and out["redacted_events"] == 1
    assert out["manifest_signed_by"] == signer.key_id


def test_a_changed_line_in_a_bundle_is_found(signer: CheckpointSigner) -> None:
    log = request_log(signer)
    data = make_bundle(log, signer)

    def change(content: bytes) -> bytes:
        lines = content.splitlines(keepends=True)
        event = loads(lines[4])
        event["actor"] = STAFF  # the requester approving her own request
        lines[4] = canonical_bytes(event) + b"\n"
        return b"".join(lines)

    report = verify_bundle(io.BytesIO(rewrite_zip(data, EVENTS, change)), trusted_keys=trusted(signer))
    assert not report.ok and report.chain.first_bad_position == 5
    assert any("events.jsonl" in p for p in report.problems)


def test_a_changed_pack_text_in_a_bundle_is_found(signer: CheckpointSigner) -> None:
    log = request_log(signer)
    data = rewrite_zip(make_bundle(log, signer), "packs/kendari@2025.12.1.yaml", lambda b: b + b"# longgar\n")
    report = verify_bundle(io.BytesIO(data), trusted_keys=trusted(signer))
    assert not report.ok and any("paket" in p for p in report.problems)


def envelopes(log: Log) -> list[EventEnvelope]:
    return [EventEnvelope.model_validate({**e, "payload": e["payload"]}) for e in log.events]


def test_replay_explains_who_on_whose_behalf_when_and_under_which_clause(signer: CheckpointSigner) -> None:
    events = envelopes(request_log(signer))
    before_second = events[5].recorded_at  # the moment the first checkpoint was written
    early = fold_until(events, as_of=before_second)
    assert early.position == 6
    row = early.state["rm_requests"].get(uuid.UUID(REQUEST))
    assert row["status"] == "PENDING" and row["current_tier"] is None

    done = fold_until(events)
    story = explain_request(done.state, [e for e in events if e.stream_id == f"request-{REQUEST}"])
    assert story is not None and story.status == "APPROVED"
    final = story.decisions[-1]
    assert final.actor == {"nip": PLT, "name": "Dewi Sari"}
    assert final.on_behalf_of == {"nip": HOLDER, "name": "Putri Hendra"}
    assert final.at_local.endswith("WITA") and final.at_local.startswith("22-12-2025 09:0")
    assert final.policy == PACK
    assert final.citation["rule_id"] == "route.opd-head"
    assert "atas nama Putri Hendra" in final.text and "versi 2025.12.1" in final.text


def test_times_and_periods() -> None:
    assert parse_time("2025-12-29 10:00 WITA") == datetime(2025, 12, 29, 2, 0, tzinfo=UTC)
    assert parse_time("2025-12-29T10:00:00+07:00") == datetime(2025, 12, 29, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("2025-12-29T10:00")
    assert parse_time("2025-12-29T10:00", zone="Asia/Jayapura") == datetime(2025, 12, 29, 1, 0, tzinfo=UTC)
    assert parse_time("2025-12-29T10:00:00 08:00") == datetime(2025, 12, 29, 2, 0, tzinfo=UTC)  # "+" from a URL
    assert parse_time("2025-12-29", zone="Asia/Makassar") == datetime(2025, 12, 28, 16, 0, tzinfo=UTC)
    end = parse_time("2025-12-29", zone="Asia/Makassar", end_of_day=True)
    assert end == datetime(2025, 12, 29, 15, 59, 59, 999999, tzinfo=UTC)
    assert local_time(datetime(2025, 12, 29, 2, 0, tzinfo=UTC), "Asia/Jayapura") == "29-12-2025 11:00 WIT"
    assert cutoff_period(datetime(2028, 1, 15, tzinfo=UTC), 24) == "2026-01"
    assert cutoff_period(datetime(2026, 3, 1, tzinfo=UTC), 3) == "2025-12"


def test_production_refuses_to_start_without_a_signing_key() -> None:
    from pydantic import ValidationError

    from runtime.settings import Settings

    strict = {
        "env": "production",
        "jwt_secret": "x" * 40,
        "vault_secret": "v" * 40,
        "database_url": "postgresql://db/lentur",
        "temporal_address": "temporal:7233",
        "nats_url": "nats://nats:4222",
    }
    with pytest.raises(ValidationError, match="LENTUR_AUDIT_SIGNING_KEY"):
        Settings(**strict)
    assert Settings(**strict, audit_signing_key=generate_private_key().private_bytes_raw().hex()).env == "production"


def test_outside_production_a_key_is_found_or_made(tmp_path) -> None:
    from runtime.settings import Settings
    from services.audit.signing import signer_from_settings

    first = signer_from_settings(Settings(env="development", state_dir=tmp_path))
    again = signer_from_settings(Settings(env="development", state_dir=tmp_path))
    assert first.public_key == again.public_key  # every process of `lentur up` signs with the same key
    assert (tmp_path / "audit-signing-key.pem").stat().st_mode & 0o077 == 0
    a, b = (signer_from_settings(Settings(env="test", jwt_secret=s)) for s in ("one", "one"))
    assert a.public_key == b.public_key != signer_from_settings(Settings(env="test", jwt_secret="two")).public_key
