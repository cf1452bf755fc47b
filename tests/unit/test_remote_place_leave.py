"""Annual leave spent in a place hard to reach (tempat yang sulit perhubungannya): up to the pack's calendar days
of travel after the last leave day, recorded with the leave and never taken from the annual-leave right."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from contracts.api import LeaveDetailsIn
from policy.bundled import bundled_pack_texts
from policy.packs import PackSet, load_pack
from services.documents.leave_form_render import render_leave_form
from tests.leave_form_text import pdf_text, section
from tests.unit.test_leave_form import PPK, decision
from tests.unit.test_leave_form import form as leave_form
from tests.unit.test_policy_rules import HISTORY

from .policy_support import KUTIM_STAFF, judge, packs

# Monday 5 to Wednesday 7 January 2026: three working days
DAYS = [date(2026, 1, 5) + timedelta(days=i) for i in range(3)]
RULE_ID = "kutai-timur.cuti-tahunan-sulit-perhubungan"


def without_the_rule() -> PackSet:
    text = bundled_pack_texts()["kutai-timur.yaml"]
    start = text.index("    remote_place_extra_days:\n")
    end = text.index("      max_days: 12\n", start) + len("      max_days: 12\n")
    texts = {**bundled_pack_texts(), "kutai-timur.yaml": text[:start] + text[end:]}
    return PackSet(load_pack(t) for t in texts.values())


def test_every_shipped_pack_allows_twelve_calendar_days_with_its_citation() -> None:
    for loaded in [packs().baseline, *(packs().for_region(r) for r in REGIONS)]:
        assert loaded is not None
        rule = loaded.pack.leave.annual.remote_place_extra_days
        assert rule is not None and rule.max_days == 12, loaded.id
        citation = loaded.cite(rule)
        assert "sulit perhubungannya" in citation.clause and "12 hari kalender" in citation.clause


REGIONS = ("kutai-timur", "kendari", "bitung", "luwu-utara", "pesisir-barat")


def test_the_extra_days_are_recorded_with_the_debit_and_cited_but_not_debited() -> None:
    plain = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY)
    remote = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY, extra_days=12)
    assert plain.allowed and remote.allowed
    assert plain.leave_debit is not None and remote.leave_debit is not None
    assert plain.leave_debit.extra_days == 0 and remote.leave_debit.extra_days == 12
    assert remote.leave_debit.days == plain.leave_debit.days == 3
    assert remote.leave_debit.available == plain.leave_debit.available
    assert RULE_ID in {c.rule_id for c in remote.citations}
    assert RULE_ID not in {c.rule_id for c in plain.citations}


def test_the_whole_balance_can_still_be_taken_with_the_travel_days_on_top() -> None:
    available = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY).leave_debit
    assert available is not None
    working: list[date] = []
    day = DAYS[0]
    while len(working) < available.available:
        if day.weekday() < 5 and judge(KUTIM_STAFF, "CUTI_TAHUNAN", [day], usage=HISTORY).allowed:
            working.append(day)
        day += timedelta(days=1)
    full = judge(KUTIM_STAFF, "CUTI_TAHUNAN", working, usage=HISTORY, extra_days=12)
    assert full.allowed, full.refusal
    assert full.leave_debit is not None and full.leave_debit.days == available.available


def test_more_than_the_pack_allows_is_refused_with_the_rule_cited() -> None:
    refused = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY, extra_days=13)
    assert refused.refusal is not None and refused.refusal.code == "extra_days_exceeded"
    assert "12 hari kalender" in refused.refusal.message and "13 hari" in refused.refusal.message
    assert [c.rule_id for c in refused.refusal.citations] == [RULE_ID]


def test_a_pack_without_the_rule_refuses_the_extra_days_citing_its_annual_leave_rule() -> None:
    packset = without_the_rule()
    assert judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY, packset=packset).allowed
    refused = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY, packset=packset, extra_days=2)
    assert refused.refusal is not None and refused.refusal.code == "extra_days_not_allowed"
    assert [c.rule_id for c in refused.refusal.citations] == ["kutai-timur.hak-cuti-tahunan"]


@pytest.mark.parametrize("kind", ["CUTI_SAKIT", "CUTI_ALASAN_PENTING", "WFH"])
def test_other_kinds_are_refused_the_extra_days(kind: str) -> None:
    refused = judge(KUTIM_STAFF, kind, DAYS[:1], usage=HISTORY, extra_days=3)
    assert refused.refusal is not None and refused.refusal.code == "extra_days_not_applicable"
    [citation] = refused.refusal.citations  # WFH outside the region's window is judged by the national baseline
    assert citation.rule_id.endswith(".cuti-tahunan-sulit-perhubungan")


def test_extra_days_without_the_remote_place_box_are_not_accepted() -> None:
    assert LeaveDetailsIn(address="Jl. A", phone="0812 555 0000").extra_days == 0
    assert LeaveDetailsIn(address="Jl. A", phone="0812 555 0000", remote_place=True, extra_days=5).extra_days == 5
    with pytest.raises(ValidationError, match="remote_place"):
        LeaveDetailsIn(address="Jl. A", phone="0812 555 0000", extra_days=5)


def test_section_iv_of_the_form_states_the_extension() -> None:
    final = decision("PPK", "approve", PPK)
    text = pdf_text(render_leave_form(leave_form((), final, extra_days=7)))
    duration = section(text, "IV. LAMANYA CUTI")
    assert "3 hari kerja" in duration
    assert "ditambah 7 hari kalender karena tempat yang sulit perhubungannya" in " ".join(duration.split()).lower()
    plain = section(pdf_text(render_leave_form(leave_form((), final))), "IV. LAMANYA CUTI")
    assert "sulit perhubungannya" not in plain


def test_a_debit_without_travel_days_is_recorded_as_before() -> None:
    debit = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY).leave_debit
    assert debit is not None and "extra_days" not in debit.model_dump(mode="json")
    remote = judge(KUTIM_STAFF, "CUTI_TAHUNAN", DAYS, usage=HISTORY, extra_days=4).leave_debit
    assert remote is not None and remote.model_dump(mode="json")["extra_days"] == 4


async def test_the_portal_form_s_box_and_number_reach_the_api_body_for_annual_leave_only() -> None:
    from services.portal.forms import parse_request_form
    from services.portal.options import form_options
    from tests.unit.test_portal_units import _container, _form, _person

    options = await form_options(_container(), _person())
    common = {"mulai": "2025-12-29", "sampai": "2025-12-31", "alasan": "x", "alamat_cuti": "Pulau Wawonii"}
    common["telepon_cuti"] = "0812 555 0000"
    remote = parse_request_form(
        _form(jenis="CUTI_TAHUNAN", sulit_perhubungan="ya", tambahan_hari="5", **common), options
    )
    assert remote.body is not None and remote.body.leave is not None
    assert (remote.body.leave.remote_place, remote.body.leave.extra_days) == (True, 5)
    missing = parse_request_form(_form(jenis="CUTI_TAHUNAN", sulit_perhubungan="ya", **common), options)
    assert missing.body is None and "tambahan_hari" in missing.errors
    unticked = parse_request_form(_form(jenis="CUTI_TAHUNAN", tambahan_hari="5", **common), options)
    assert unticked.body is not None and unticked.body.leave is not None and unticked.body.leave.extra_days == 0
