"""Leave per the national procedure, against the pure evaluator: documents, CLTN, what a PPPK may take."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from policy.directory import DirectoryIndex

from .policy_support import KUTIM_PPPK, KUTIM_STAFF, judge, people

J5, J6 = date(2026, 1, 5), date(2026, 1, 6)


def started(nip: str, on: date) -> DirectoryIndex:
    return DirectoryIndex(p.model_copy(update={"service_start": on}) if p.nip == nip else p for p in people())


def test_one_day_of_sick_leave_needs_no_certificate_two_days_do() -> None:
    assert judge(KUTIM_STAFF, "CUTI_SAKIT", [J5]).allowed
    refused = judge(KUTIM_STAFF, "CUTI_SAKIT", [J5, J6])
    assert refused.refusal is not None and refused.refusal.code == "document_required"
    assert "surat keterangan dokter" in refused.refusal.message
    [citation] = refused.refusal.citations
    assert citation.rule_id == "kutai-timur.cuti-sakit.surat-dokter" and "Pasal 320" in citation.clause
    allowed = judge(KUTIM_STAFF, "CUTI_SAKIT", [J5, J6], attachments=1)
    assert allowed.allowed
    assert "kutai-timur.cuti-sakit.surat-dokter" in {c.rule_id for c in allowed.citations}


def test_cltn_needs_five_years_of_continuous_service_counted_from_service_start() -> None:
    four_years = started(KUTIM_STAFF, date(2021, 6, 1))  # the NIP's TMT (01/2016) would give ten
    short = judge(KUTIM_STAFF, "CLTN", [J5], attachments=1, index=four_years)
    assert short.refusal is not None and short.refusal.code == "service_too_short"
    assert "4 tahun" in short.refusal.message and "1 Juni 2021" in short.refusal.message
    assert "Pasal 334" in short.refusal.citations[0].clause
    five_years = started(KUTIM_STAFF, date(2020, 12, 1))
    assert judge(KUTIM_STAFF, "CLTN", [J5], attachments=1, index=five_years).allowed


def test_cltn_lasts_at_most_three_years() -> None:
    three_years = [J5 + timedelta(days=i) for i in range(1096)]
    assert judge(KUTIM_STAFF, "CLTN", three_years, attachments=1).allowed
    longer = judge(KUTIM_STAFF, "CLTN", [*three_years, three_years[-1] + timedelta(days=1)], attachments=1)
    assert longer.refusal is not None and longer.refusal.code == "leave_too_long"
    assert "1096 hari kalender" in longer.refusal.message


def test_a_cltn_is_decided_by_the_ppk_after_the_unit_head_s_consideration() -> None:
    evaluation = judge(KUTIM_STAFF, "CLTN", [J5], attachments=1)
    assert [s.tier.value for s in evaluation.route] == ["UNIT_HEAD", "PPK"]


@pytest.mark.parametrize("kind", ["CUTI_TAHUNAN", "CUTI_SAKIT"])
def test_a_pppk_gets_the_kinds_pp_49_2018_gives(kind: str) -> None:
    from tests.unit.test_policy_rules import HISTORY

    assert judge(KUTIM_PPPK, kind, [J5], usage=HISTORY).allowed


@pytest.mark.parametrize("kind", ["CUTI_BESAR", "CUTI_ALASAN_PENTING", "CLTN"])
def test_a_pppk_is_refused_the_others_with_pp_49_2018_cited(kind: str) -> None:
    refused = judge(KUTIM_PPPK, kind, [J5], attachments=1)
    assert refused.refusal is not None and refused.refusal.code == "employee_type_not_allowed"
    [citation] = refused.refusal.citations
    assert "PP No. 49 Tahun 2018" in citation.source and "Pasal 77" in citation.clause


def test_cuti_besar_before_five_years_only_with_the_hajj_schedule() -> None:
    young = "199803272023092016"  # Nur Lestari, TMT 09/2023
    refused = judge(young, "CUTI_BESAR", [J5])
    assert refused.refusal is not None and refused.refusal.code == "service_too_short"
    assert "jadwal keberangkatan" in refused.refusal.message
    assert {c.rule_id for c in refused.refusal.citations} == {
        "kutai-timur.cuti-besar",
        "kutai-timur.cuti-besar.ibadah-haji",
    }
    assert judge(young, "CUTI_BESAR", [J5], attachments=1).allowed
