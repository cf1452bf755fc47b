"""Who is told, what they read, and what goes on a letter: pure rules, checked in milliseconds."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.events import EventEnvelope
from runtime.settings import Settings
from services.documents.letters import (
    Holder,
    Letter,
    Signer,
    letter_kind,
    letter_number,
    signer_label,
    terbilang,
)
from services.documents.render import render_letter
from services.kernel.bahasa import dates_text, local_datetime, period_text
from services.kernel.regions import region_display
from services.notifications.channels import SmtpConfig, sign, signature_valid
from services.notifications.context import RequestContext
from services.notifications.dispatcher import RetryPolicy
from services.notifications.messages import compose
from services.notifications.projection import next_digest_at
from services.notifications.recipients import Contact, Delegation, DirectoryView, recipients_for

AT = datetime(2025, 12, 22, 1, 0, tzinfo=UTC)  # 09:00 WITA
REQUEST = uuid.uuid4()
HOLDER, PLH, DELEGATE, STAFF, HEAD = "1" * 18, "2" * 18, "3" * 18, "4" * 18, "5" * 18


def person(nip: str, name: str, region: str = "kendari", **extra: object) -> Contact:
    return Contact(nip, name, region, "DISHUB", "Dinas Perhubungan", "U1", "Bidang 1", **extra)  # type: ignore[arg-type]


def event(type_: str, payload: dict, *, at: datetime = AT) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        stream_id=f"request-{REQUEST}",
        version=5,
        position=50,
        type=type_,
        schema_version=1,
        occurred_at=at,
        actor="system",
        correlation_id="c",
        payload={"request_id": str(REQUEST), **payload},
        content_hash="",
        prev_hash=None,
        hash="",
        chain_hash="",
    )


def context(**extra: object) -> RequestContext:
    fields: dict[str, object] = {
        "request_id": REQUEST,
        "requester_nip": STAFF,
        "requester_name": "Putri Teguh",
        "region": "kendari",
        "opd_code": "DISHUB",
        "unit_code": "U1",
        "kind": "WFA",
        "dates": [date(2025, 12, 29), date(2025, 12, 30)],
        "country": "MY",
        "correlation_id": "c",
        "timezone": "Asia/Makassar",
        "route": [{"tier": "UNIT_HEAD"}, {"tier": "OPD_HEAD"}, {"tier": "PPK"}],
    }
    fields.update(extra)
    return RequestContext(**fields)  # type: ignore[arg-type]


def view(*delegations: Delegation) -> DirectoryView:
    return DirectoryView(
        people={
            HOLDER: person(HOLDER, "Indah Sari", roles=("unit_head",)),
            PLH: person(PLH, "Dewi Sari", acting_for=HOLDER),
            DELEGATE: person(DELEGATE, "Kurnia Made"),
            STAFF: person(STAFF, "Putri Teguh"),
            HEAD: person(HEAD, "Andi Krui", region="pesisir-barat"),
        },
        delegations=list(delegations),
    )


def test_a_task_reaches_its_holder_the_plh_and_a_delegate_whose_delegation_covers_it() -> None:
    valid = Delegation(HOLDER, DELEGATE, ("UNIT_HEAD",), AT - timedelta(days=1), AT + timedelta(days=1))
    assigned = event("TaskAssigned", {"task_id": "t", "tier": "UNIT_HEAD", "assignee_nip": HOLDER, "round": 1})
    told = recipients_for(assigned, context(), view(valid))
    assert {(n.recipient, n.role) for n in told} == {(HOLDER, "assignee"), (PLH, "acting"), (DELEGATE, "delegate")}
    expired = Delegation(HOLDER, DELEGATE, ("UNIT_HEAD",), AT - timedelta(days=3), AT - timedelta(days=1))
    other_tier = Delegation(HOLDER, DELEGATE, ("PPK",), AT - timedelta(days=1), AT + timedelta(days=1))
    assert DELEGATE not in {n.recipient for n in recipients_for(assigned, context(), view(expired, other_tier))}


def test_nobody_is_told_to_decide_their_own_request() -> None:
    own = event("TaskAssigned", {"task_id": "t", "tier": "UNIT_HEAD", "assignee_nip": HOLDER, "round": 1})
    told = recipients_for(own, context(requester_nip=PLH), view())
    assert [n.recipient for n in told] == [HOLDER]


def test_escalation_within_a_tier_tells_both_and_to_the_next_tier_only_the_one_passed_over() -> None:
    same = event("TaskEscalated", {"task_id": "t", "tier": "UNIT_HEAD", "to_tier": "UNIT_HEAD", "from_nip": HOLDER,
                                   "to_nip": PLH, "reason": "x"})  # fmt: skip
    assert {(n.recipient, n.kind) for n in recipients_for(same, context(), view())} == {
        (PLH, "task_escalated"),
        (HOLDER, "task_escalated_away"),
    }
    up = event("TaskEscalated", {"task_id": "t", "tier": "UNIT_HEAD", "to_tier": "OPD_HEAD", "from_nip": HOLDER,
                                 "to_nip": HEAD, "reason": "x"})  # fmt: skip
    assert [(n.recipient, n.kind) for n in recipients_for(up, context(), view())] == [(HOLDER, "task_escalated_away")]


def test_the_requester_hears_of_progress_and_outcome_and_the_unit_head_of_an_absence() -> None:
    middle = event("DecisionRecorded", {"task_id": "t", "tier": "UNIT_HEAD", "step": 0, "decision": "approve"})
    last = event("DecisionRecorded", {"task_id": "t", "tier": "PPK", "step": 2, "decision": "approve"})
    assert [n.kind for n in recipients_for(middle, context(), view())] == ["request_progressed"]
    assert recipients_for(last, context(), view()) == []
    approved = recipients_for(event("RequestApproved", {"round": 1, "final_tier": "PPK"}), context(), view())
    assert {(n.recipient, n.kind) for n in approved} == {(STAFF, "request_approved"), (HOLDER, "unit_member_approved")}
    missed = event("ComplianceMissed", {"nip": STAFF, "superior_nip": HOLDER, "day": "2025-12-29",
                                        "duty": "activity_report", "task_id": "t", "duty_id": "d"})  # fmt: skip
    assert {(n.recipient, n.kind) for n in recipients_for(missed, context(), view())} == {
        (STAFF, "compliance_missed"),
        (HOLDER, "compliance_missed_superior"),
    }


def test_messages_are_in_bahasa_in_the_recipients_zone_without_sealed_data() -> None:
    assigned = event(
        "TaskAssigned",
        {"task_id": "t", "tier": "UNIT_HEAD", "assignee_nip": HOLDER, "round": 1, "remind_at": "2025-12-23T01:00:00Z"},
    )
    [notice] = [n for n in recipients_for(assigned, context(), view()) if n.recipient == HOLDER]
    message = compose(notice, assigned, context(), view(), "https://lentur.example")
    assert message.title == "Tugas baru: WFA (bekerja dari lokasi lain) Putri Teguh"
    assert "ke MY" in message.body and "29 dan 30 Desember 2025" in message.body
    assert "22 Desember 2025 pukul 09.00 WITA" in message.body
    assert message.link == f"https://lentur.example/pengajuan/{REQUEST}"
    # A recipient in Pesisir Barat reads the same moment in WIB.
    assert local_datetime(AT, region_display("pesisir-barat").timezone) == "22 Desember 2025 pukul 08.00 WIB"
    returned = event("RequestReturned", {"round": 1, "tier": "OPD_HEAD", "comment": "Lengkapi rencana kerja"})
    [back] = recipients_for(returned, context(), view())
    text = compose(back, returned, context(), view(), "https://x").body
    assert "Kepala Perangkat Daerah mengembalikan" in text and "Lengkapi rencana kerja" in text


def test_the_digest_goes_out_at_the_next_morning_on_the_recipients_wall_clock() -> None:
    assert next_digest_at(AT, "Asia/Makassar", 7).isoformat() == "2025-12-23T07:00:00+08:00"
    early = datetime(2025, 12, 21, 22, 0, tzinfo=UTC)  # 06:00 WITA on the 22nd
    assert next_digest_at(early, "Asia/Makassar", 7).isoformat() == "2025-12-22T07:00:00+08:00"


def test_indonesian_dates() -> None:
    assert dates_text([date(2025, 12, 31), date(2025, 12, 29), date(2026, 1, 2)]) == (
        "29 dan 31 Desember 2025 serta 2 Januari 2026"
    )
    assert (
        dates_text([date(2025, 11, 28), date(2025, 12, 1), date(2025, 12, 2)])
        == "28 November serta 1 dan 2 Desember 2025"
    )
    assert period_text([date(2025, 12, 29), date(2025, 12, 30)]) == (
        "terhitung mulai tanggal 29 Desember 2025 s.d. 30 Desember 2025"
    )
    assert period_text([date(2025, 12, 29), date(2025, 12, 31)]) == "pada tanggal 29 dan 31 Desember 2025"
    assert [terbilang(n) for n in (1, 11, 12, 21, 100, 115)] == [
        "satu",
        "sebelas",
        "dua belas",
        "dua puluh satu",
        "seratus",
        "seratus lima belas",
    ]


def test_which_requests_get_which_letter_and_its_number() -> None:
    assert letter_kind("CUTI_TAHUNAN", None) == "surat_izin_cuti_tahunan"
    assert letter_kind("CUTI_MELAHIRKAN", None) == "surat_izin_cuti_melahirkan"
    assert letter_kind("WFA", "MY") == "surat_izin_wfa_luar_negeri"
    assert letter_kind("WFA", "ID") is None and letter_kind("WFH", None) is None
    assert letter_kind("IZIN_LUAR_NEGERI", "SG") == "surat_izin_luar_negeri"
    assert letter_number(region_display("bitung"), 12, "DINKES", date(2026, 1, 2)) == "800/12/DINKES/I/2026"
    assert region_display("pesisir-barat").pemda == "Pemerintah Kabupaten Pesisir Barat"
    assert region_display("unknown-land").pemda == "Pemerintah Daerah Unknown Land"


@pytest.mark.parametrize(
    ("acting_for", "holder", "holder_known", "label"),
    [
        (None, None, True, ""),  # the holder signs
        ("1", "1", True, "Plh."),  # the holder is away; the Plh signs
        ("1", "1", False, "Plt."),  # the post is vacant; the Plt signs
        (None, "1", True, "a.n."),  # a delegate signs on the holder's behalf
    ],
)
def test_the_signer_shows_plt_plh_or_an(
    acting_for: str | None, holder: str | None, holder_known: bool, label: str
) -> None:
    assert signer_label(acting_for, holder, holder_known) == label


def letter(**changes: object) -> Letter:
    fields: dict[str, object] = {
        "doc_id": "d0c",
        "kind": "surat_izin_wfa_luar_negeri",
        "number": "800/3/DISHUB/XII/2025",
        "issued_on": date(2025, 12, 22),
        "region": region_display("kendari"),
        "opd_name": "Dinas Perhubungan",
        "holder": Holder(STAFF, "Putri Teguh", "PPPK", "Pelaksana pada Bidang 1", "Bidang 1", "Dinas Perhubungan"),
        "request_kind": "WFA",
        "dates": (date(2025, 12, 29), date(2025, 12, 30)),
        "working_days": 2,
        "country": "MY",
        "signer": Signer(PLH, "Dewi Sari", "Wali Kota Kendari", "Plt.", HOLDER),
        "verify_url": "https://lentur.example/verifikasi/d0c",
    }
    fields.update(changes)
    return Letter(**fields)  # type: ignore[arg-type]


def test_a_letter_renders_to_the_same_bytes_every_time_and_says_what_it_grants() -> None:
    wfa = letter()
    assert wfa.title.startswith("SURAT IZIN PELAKSANAAN TUGAS KEDINASAN")
    assert "Pegawai Pemerintah dengan Perjanjian Kerja" in wfa.grant()
    assert "di Malaysia selama 2 (dua) hari kerja" in wfa.period()
    assert wfa.signer.title == "Plt. Wali Kota Kendari"
    first, second = render_letter(wfa), render_letter(wfa)
    assert first.startswith(b"%PDF") and hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert render_letter(letter(number="800/4/DISHUB/XII/2025")) != first


def test_the_letter_of_permission_to_travel_abroad_counts_every_day_and_says_the_purpose() -> None:
    trip = letter(
        kind="surat_izin_luar_negeri",
        request_kind="IZIN_LUAR_NEGERI",
        dates=(date(2025, 12, 26), date(2025, 12, 27), date(2025, 12, 28), date(2025, 12, 29)),
        working_days=1,
        country="SG",
        travel_purpose="pribadi",
    )
    assert trip.title == "SURAT IZIN KE LUAR NEGERI"
    assert "perjalanan ke luar negeri untuk kepentingan pribadi" in trip.grant()
    assert "ke Singapura selama 4 (empat) hari," in trip.period()  # calendar days: the holiday and weekend too
    assert any("cuti" in condition for condition in trip.conditions())
    official = letter(kind="surat_izin_luar_negeri", request_kind="IZIN_LUAR_NEGERI", travel_purpose="dinas")
    assert "kepentingan dinas" in official.grant() and not any("cuti" in c for c in official.conditions())
    assert render_letter(trip).startswith(b"%PDF")


def test_webhook_signatures_and_smtp_settings() -> None:
    body = b'{"kind":"task_assigned"}'
    header = sign(body, "s" * 32)
    assert header.startswith("sha256=") and signature_valid(body, header, "s" * 32)
    assert not signature_valid(body, header, "t" * 32) and not signature_valid(body, None, "s" * 32)
    secure = SmtpConfig.from_url("smtps://lentur%40pemda:p%40ss@mail.pemda.go.id")
    assert (secure.host, secure.port, secure.tls, secure.username, secure.password) == (
        "mail.pemda.go.id",
        465,
        "implicit",
        "lentur@pemda",
        "p@ss",
    )
    assert SmtpConfig.from_url("smtp+starttls://mail:2525").tls == "starttls"
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail")


def test_retries_back_off_up_to_a_cap() -> None:
    policy = RetryPolicy(base_seconds=10, max_seconds=100, max_attempts=5)
    delays = [policy.delay(n).total_seconds() for n in range(1, 7)]
    assert 8 <= delays[0] <= 10 and 16 <= delays[1] <= 20 and all(d <= 100 for d in delays)
    assert delays[-1] >= 85


def test_production_refuses_demo_mail_and_unsigned_or_plaintext_channels() -> None:
    base = {
        "env": "production",
        "jwt_secret": "x" * 40,
        "vault_secret": "v" * 40,
        "database_url": "postgresql://db/lentur",
        "temporal_address": "t:7233",
        "nats_url": "nats://n:4222",
        "audit_signing_key": "11" * 32,  # production also refuses to run without a checkpoint key
    }
    Settings(**base, smtp_url="smtps://mail.pemda.go.id")  # type: ignore[arg-type]
    for bad in (
        {"mail_fallback_domain": "demo.lentur.invalid"},
        {"smtp_url": "smtp://mail.pemda.go.id:25"},
        {"notify_webhook_url": "https://gateway", "notify_webhook_secret": "short"},
    ):
        with pytest.raises(ValidationError):
            Settings(**base, **bad)  # type: ignore[arg-type]
