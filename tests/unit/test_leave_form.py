"""The Formulir Permintaan dan Pemberian Cuti: which requests get one, where its data comes from, and the
PDF read back section by section."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from typing import Any

from contracts.common import EmployeeType
from contracts.directory import Person
from contracts.policy_pack import AnnualLeaveRule
from policy.leave import leave_record
from services.documents.leave_form import (
    AnnualRecord,
    Decision,
    Employee,
    LeaveForm,
    OutsideConsideration,
    form_wanted,
    split_considerations,
)
from services.documents.leave_form_render import render_leave_form
from services.documents.leave_form_sources import (
    employee_from_directory,
    form_record,
    leave_contact,
    requested_dates,
    round_decisions,
)
from services.documents.letters import Signer
from services.kernel.regions import region_display
from tests.leave_form_text import pdf_text, section, ticked_boxes, ticked_kinds

STAFF = "199505042021012163"
HEAD = Signer("197506201999081160", "Indah Sari", "Kepala Bidang Lalu Lintas")
OPD = Signer("199503222018022159", "Yusuf Indah", "Kepala Dinas Perhubungan")
PPK = Signer("198609222008011156", "Citra Kurnia", "Wali Kota Kendari", "a.n.", "111111111111111111")
DAY = date(2025, 12, 22)
DATES = (date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31))
RULE = AnnualLeaveRule(id="uji.cuti", basis=("pp",), clause="uji", cuti_bersama_deducted=False)


def decision(tier: str, kind: str, signer: Signer, **extra: object) -> Decision:
    return Decision(tier, kind, extra.pop("comment", None), signer, DAY, **extra)  # type: ignore[arg-type]


def form(considerations: tuple[Decision, ...], final: Decision | None, **extra: object) -> LeaveForm:
    values: dict[str, object] = {
        "doc_id": "d" * 32,
        "number": "800/FPC.1/DISHUB/XII/2025",
        "issued_on": DAY,
        "region": region_display("kendari"),
        "opd_name": "Dinas Perhubungan",
        "employee": Employee(
            "Putri Teguh", STAFF, "Pelaksana", "4 tahun 9 bulan", "Bidang Lalu Lintas", "Penata Muda, III/a"
        ),
        "request_kind": "CUTI_TAHUNAN",
        "reason": "Pulang kampung",
        "dates": DATES,
        "working_days": 3,
        "record": AnnualRecord(2025, n2=0, n1=6, n=12, used=2, available=16),
        "address": "Jl. Mawar No. 5, Kendari",
        "phone": "081234567890",
        "considerations": considerations,
        "decision": final,
        "addressee": "Wali Kota Kendari",
        "verify_url": "https://lentur.example/verifikasi/" + "d" * 32,
    }
    values.update(extra)
    return LeaveForm(**values)  # type: ignore[arg-type]


# -- which requests get a form ---------------------------------------------------------------------------


def test_a_leave_round_decided_by_a_person_gets_a_form_and_nothing_else_does() -> None:
    assert form_wanted("CUTI_TAHUNAN", "RequestApproved", {"round": 1})
    assert form_wanted("CUTI_SAKIT", "RequestRejected", {"tier": "PPK", "code": "rejected_by_approver"})
    assert form_wanted("CUTI_TAHUNAN", "RequestDeferred", {"tier": "PPK"})
    assert form_wanted("CLTN", "RequestApproved", {})
    assert not form_wanted("WFH", "RequestApproved", {})
    # refused by the rules at submission: nobody decided
    assert not form_wanted("CUTI_TAHUNAN", "RequestRejected", {"tier": None, "code": "insufficient_leave_balance"})
    assert not form_wanted("CUTI_TAHUNAN", "RequestExpired", {})


def test_considerations_come_before_the_decision_of_the_last_tier_and_returns_are_left_out() -> None:
    unit = decision("UNIT_HEAD", "approve", HEAD)
    returned = decision("OPD_HEAD", "return", OPD)
    opd = decision("OPD_HEAD", "change", OPD, dates=DATES[:2])
    final = decision("PPK", "reject", PPK, comment="Tenaga dibutuhkan")
    considerations, made = split_considerations([unit, returned, opd, final], ["UNIT_HEAD", "OPD_HEAD", "PPK"])
    assert considerations == (unit, opd) and made == final
    ended_early, none = split_considerations([decision("UNIT_HEAD", "reject", HEAD)], ["UNIT_HEAD", "PPK"])
    assert none is None and [d.decision for d in ended_early] == ["reject"]


# -- where the data comes from ---------------------------------------------------------------------------


def test_directory_fields_that_are_missing_leave_blanks_and_service_counts_from_the_nip() -> None:
    bare = Person(
        nip=STAFF,
        name="Putri Teguh",
        employee_type=EmployeeType.PNS,
        region="kendari",
        opd_code="DISHUB",
        opd_name="Dinas Perhubungan",
        opd_class="direct_service",
        unit_code="DISHUB-U1",
        unit_name="Bidang Lalu Lintas",
    )  # a directory without rank/position/service_start
    employee = employee_from_directory(bare, nip=STAFF, name="Putri Teguh", position="Pelaksana", unit="U1", on=DAY)
    assert employee.rank == "" and employee.position == "Pelaksana"
    assert employee.service_length == "4 tahun 11 bulan"  # TMT January 2021 from the NIP
    full = bare.model_copy(
        update={"rank": "Penata Muda, III/a", "position": "Analis Lalu Lintas", "service_start": date(2019, 3, 1)}
    )
    employee = employee_from_directory(full, nip=STAFF, name="Putri Teguh", position="Pelaksana", unit="U1", on=DAY)
    assert (employee.rank, employee.position, employee.service_length) == (
        "Penata Muda, III/a",
        "Analis Lalu Lintas",
        "6 tahun 9 bulan",
    )
    pppk = bare.model_copy(update={"employee_type": EmployeeType.PPPK})  # no TMT in a PPPK's number
    assert employee_from_directory(pppk, nip=STAFF, name="X", position="P", unit="U", on=DAY).service_length == ""
    assert employee_from_directory(None, nip="12345", name="X", position="P", unit="U", on=DAY).service_length == ""


def test_the_address_during_leave_is_read_from_the_sealed_personal_data_in_either_shape() -> None:
    assert leave_contact({"leave_address": "Jl. Mawar 5", "leave_phone": "0812"}) == ("Jl. Mawar 5", "0812")
    assert leave_contact({"leave": {"address": "Jl. Melati 1", "phone": "0813"}}) == ("Jl. Melati 1", "0813")
    assert leave_contact({"reason": "Pulang kampung"}) == ("", "")
    assert leave_contact(None) == ("", "")  # erased after retention, or never sealed


def annual_record(year: int, *, employee_type: EmployeeType, used_by_year: dict[int, int], **more: Any) -> AnnualRecord:
    return form_record(
        leave_record(
            year,
            employee_type=employee_type,
            used_by_year=used_by_year,
            rule=RULE,
            **more,
        )
    )


def test_the_form_s_record_is_the_leave_record_with_days_in_flight_counted_as_used() -> None:
    # 2023 and 2024 untaken: up to 24 days in 2025, 12 of them carried (PP 11/2017's two-year rule)
    record = annual_record(2025, employee_type=EmployeeType.PNS, used_by_year={2023: 0, 2024: 0, 2025: 2})
    assert (record.n2, record.n1, record.n, record.used, record.available) == (0, 12, 12, 2, 22)
    one_year = annual_record(2025, employee_type=EmployeeType.PNS, used_by_year={2023: 12, 2024: 8})
    assert (one_year.n2, one_year.n1, one_year.available) == (0, 4, 16)
    pppk = annual_record(2025, employee_type=EmployeeType.PPPK, used_by_year={2024: 0})
    assert (pppk.n2, pppk.n1, pppk.available) == (0, 0, 12)
    # days a PYBMC deferred out of 2025 are the next year's, shown there beside N
    # (2025 left 9 of its own after the 3 deferred: 6 carried at most)
    deferred = annual_record(2026, employee_type=EmployeeType.PNS, used_by_year={2025: 0}, deferred_into={2026: 3})
    assert (deferred.n, deferred.n1, deferred.deferred, deferred.available) == (12, 6, 3, 21)
    in_flight = form_record(
        leave_record(2025, employee_type=EmployeeType.PNS, used_by_year={2025: 5}, pending_by_year={2025: 2}, rule=RULE)
    )
    assert (in_flight.used, in_flight.available) == (5, 7)


def test_decisions_of_the_round_carry_granted_dates_and_deferrals_when_recorded() -> None:
    at = datetime(2025, 12, 22, 2, tzinfo=UTC)

    def event(type_: str, payload: dict) -> dict:
        return {"type": type_, "payload": payload, "actor": HEAD.nip, "on_behalf_of": None, "occurred_at": at}

    events = [
        event("RequestSubmitted", {"dates": ["2025-12-31", "2025-12-29"]}),
        event("DecisionRecorded", {"round": 1, "tier": "UNIT_HEAD", "decision": "return", "comment": "Ubah"}),
        event("RequestResubmitted", {"round": 2, "dates": ["2025-12-30", "2025-12-31"]}),
        event("DecisionRecorded", {"round": 2, "tier": "UNIT_HEAD", "decision": "change", "dates": ["2025-12-31"]}),
        event("DecisionRecorded", {"round": 2, "tier": "PPK", "decision": "defer", "defer_until": "2026-06-30"}),
    ]
    assert requested_dates(events, 2) == (date(2025, 12, 30), date(2025, 12, 31))  # type: ignore[arg-type]
    decided = round_decisions(events, 2)  # type: ignore[arg-type]
    assert [(d.tier, d.decision) for d in decided] == [("UNIT_HEAD", "change"), ("PPK", "defer")]
    assert decided[0].dates == (date(2025, 12, 31),) and decided[1].defer_until == date(2026, 6, 30)


# -- the PDF, read back ----------------------------------------------------------------------------------


def test_the_form_reads_back_section_by_section_with_the_recorded_boxes_ticked() -> None:
    considerations = (
        decision("UNIT_HEAD", "approve", HEAD, comment="Setuju"),
        decision("OPD_HEAD", "change", OPD, dates=DATES[:2], comment="Satu hari dibutuhkan"),
    )
    final = decision("PPK", "defer", PPK, defer_until=date(2026, 3, 31), comment="Kebutuhan dinas mendesak")
    pdf = render_leave_form(form(considerations, final))
    assert pdf == render_leave_form(form(considerations, final))  # deterministic: one form, one hash
    pages = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert any(line.split() in (["Pages:", "1"], ["Pages:", "2"]) for line in pages.splitlines())
    text = pdf_text(pdf)
    assert "FORMULIR PERMINTAAN DAN PEMBERIAN CUTI" in text and "Yth. Wali Kota Kendari" in text
    employee = section(text, "I. DATA PEGAWAI")
    for expected in ("Putri Teguh", STAFF, "Pelaksana", "4 tahun 9 bulan", "Bidang Lalu Lintas", "III/a"):
        assert expected in employee, expected
    assert ticked_kinds(text) == ["Cuti Tahunan"]
    assert "Pulang kampung" in section(text, "III. ALASAN CUTI")
    duration = section(text, "IV. LAMANYA CUTI")
    assert "3 hari kerja" in duration and "29 Desember 2025" in duration and "31 Desember 2025" in duration
    record = section(text, "V. CATATAN CUTI")
    assert "N-2 (2023)" in record and "N-1 (2024)" in record and "tersedia 16 hari kerja" in record
    assert "Jl. Mawar No. 5, Kendari" in section(text, "VI. ALAMAT SELAMA MENJALANKAN CUTI")
    assert "081234567890" in section(text, "VI. ALAMAT SELAMA MENJALANKAN CUTI")
    consideration = section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")
    assert ticked_boxes(consideration) == ["DISETUJUI", "PERUBAHAN"]
    assert "Indah Sari" in consideration and "Yusuf Indah" in consideration
    assert "Diberikan pada tanggal 29 dan 30 Desember 2025" in consideration
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["DITANGGUHKAN"]
    assert "31 Maret 2026" in decided and "Kebutuhan dinas mendesak" in decided
    assert "a.n. Wali Kota Kendari" in decided and "Citra Kurnia" in decided and f"NIP. {PPK.nip}" in decided


def test_a_refusal_that_ended_the_round_early_leaves_the_decision_unticked() -> None:
    refused = decision("UNIT_HEAD", "reject", HEAD, comment="Sedang audit")
    text = pdf_text(render_leave_form(form((refused,), None, record=None, address="", phone="")))
    assert ticked_boxes(section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")) == ["TIDAK DISETUJUI"]
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == [None]
    assert "berakhir pada pertimbangan atasan langsung" in " ".join(decided.split())


def test_bkn_s_consideration_is_written_beside_the_pybmc_s_decision_on_a_cltn_form() -> None:
    bkn = OutsideConsideration("BKN", "PT-1234/KEP/BKN/2025", date(2025, 12, 19))
    text = pdf_text(render_leave_form(form((), decision("PPK", "approve", PPK), request_kind="CLTN", outside=(bkn,))))
    assert ticked_kinds(text) == ["Cuti di Luar Tanggungan Negara"]
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["DISETUJUI"]
    assert "Pertimbangan teknis BKN Nomor" in decided and "PT-1234/KEP/BKN/2025 tanggal 19 Desember 2025." in decided
    # no decision (a round a binding consideration ended): nothing is written for the PYBMC
    ended = pdf_text(render_leave_form(form((decision("UNIT_HEAD", "reject", HEAD),), None, outside=(bkn,))))
    assert "PT-1234" not in ended
