"""Pack loading: every shipped pack validates, malformed packs are refused with a line and a reason,
the PackSet indexes packs by id, version and hash, and `check_pack` renders."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from contracts.common import RequestKind
from contracts.policy_pack import PolicyPack
from policy.bundled import bundled_pack_texts
from policy.packs import PackInvalid, PackSet, load_pack
from policy.report import check_pack

from .policy_support import PACKS_DIR, packs

PACK_FILES = sorted(PACKS_DIR.glob("*.yaml"))
BASELINE_TEXT = (PACKS_DIR / "national-baseline.yaml").read_text(encoding="utf-8")
KENDARI_TEXT = (PACKS_DIR / "kendari.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


@pytest.mark.parametrize("path", PACK_FILES, ids=[p.stem for p in PACK_FILES])
def test_every_shipped_pack_loads(path: Path) -> None:
    raw = path.read_bytes()
    loaded = load_pack(raw)
    assert loaded.id == path.stem
    assert loaded.sha256 == hashlib.sha256(raw).hexdigest()
    assert loaded.ref.sha256 == loaded.sha256
    # every rule has a citation whose source names at least one instrument of the pack's legal basis
    instruments = {b.instrument for b in loaded.pack.legal_basis}
    for _, rule in loaded.pack.rules():
        citation = loaded.cite(rule)
        assert any(i in citation.source for i in instruments)
        assert citation.clause


def test_shipped_set_has_five_regions_and_a_baseline() -> None:
    packset = packs()
    assert packset.baseline.id == "national-baseline"
    regions = {"kutai-timur", "bitung", "luwu-utara", "pesisir-barat", "kendari"}
    assert {r for r in regions if packset.for_region(r) is not None} == regions
    assert packset.timezone_for("pesisir-barat") == "Asia/Jakarta"
    assert {packset.timezone_for(r) for r in regions - {"pesisir-barat"}} == {"Asia/Makassar"}
    assert set(bundled_pack_texts()) == {p.name for p in PACK_FILES}


def test_legal_basis_records_the_circulars() -> None:
    kendari = packs().get("kendari")
    kutim = packs().get("kutai-timur")
    assert kendari is not None and kutim is not None
    se = kendari.pack.legal_basis[0]
    assert se.issued_on == date(2025, 12, 22) and se.signatory is not None and "Siska Karina Imran" in se.signatory
    assert kutim.pack.legal_basis[0].issued_on == date(2025, 12, 19)
    for loaded in packs():
        b531 = [b for b in loaded.pack.legal_basis if b.id == "surat-menpanrb-b531"]
        permen = [b for b in loaded.pack.legal_basis if b.id == "permenpanrb-4-2025"]
        assert b531 and b531[0].issued_on == date(2025, 12, 18)
        assert permen


def test_sha256_is_of_the_exact_bytes() -> None:
    a = load_pack(BASELINE_TEXT)
    b = load_pack(BASELINE_TEXT + "\n# komentar tambahan\n")
    assert a.pack == b.pack
    assert a.sha256 != b.sha256


def test_packset_indexes_by_id_version_and_sha() -> None:
    old = load_pack(KENDARI_TEXT)
    new = load_pack(KENDARI_TEXT.replace("version: 2025.12.1.1", "version: 2025.12.2"))
    packset = PackSet([new, old, packs().baseline])
    assert packset.get("kendari") is new
    assert packset.version("kendari", "2025.12.1.1") is old
    assert packset.by_sha256(old.sha256) is old
    assert packset.resolve(old.ref) is old
    assert packset.resolve(old.ref.model_copy(update={"version": "9.9"})) is None
    assert packset.for_region("kendari") is new


def test_packset_refuses_two_texts_for_one_version() -> None:
    a = load_pack(KENDARI_TEXT)
    b = load_pack(KENDARI_TEXT + "\n")
    with pytest.raises(ValueError, match="dua kali"):
        PackSet([a, b])


def test_with_pack_puts_a_draft_in_force_and_keeps_history() -> None:
    draft = load_pack(KENDARI_TEXT.replace("version: 2025.12.1.1", "version: 2026.1.0"))
    packset = packs().with_pack(draft)
    assert packset.get("kendari") is draft
    current = packs().get("kendari")
    assert current is not None and packset.resolve(current.ref) is current


def test_in_force_picks_region_baseline_or_none() -> None:
    packset = packs()
    wfh = RequestKind.WFH
    assert packset.in_force("kendari", wfh, [date(2025, 12, 29)]).id == "kendari"  # type: ignore[union-attr]
    assert packset.in_force("kendari", wfh, [date(2026, 1, 5)]).id == "national-baseline"  # type: ignore[union-attr]
    assert packset.in_force("kendari", wfh, [date(2025, 12, 24), date(2025, 12, 29)]) is None
    leave = packset.in_force("kendari", RequestKind.CUTI_SAKIT, [date(2026, 3, 2)])
    assert leave is not None and leave.id == "kendari"
    unknown = packset.in_force("papua-selatan", wfh, [date(2025, 12, 29)])
    assert unknown is not None and unknown.id == "national-baseline"


# --- malformed packs ----------------------------------------------------------------------------------


def _refusal(text: str) -> PackInvalid:
    with pytest.raises(PackInvalid) as caught:
        load_pack(text)
    assert caught.value.reason
    return caught.value


def test_broken_yaml_names_the_line() -> None:
    text = BASELINE_TEXT.replace("    max_days_per_week: 2", "    max_days_per_week: [2")
    refused = _refusal(text)
    assert refused.line >= _line_of(BASELINE_TEXT, "max_days_per_week")
    assert "YAML" in refused.reason


def test_wrong_value_names_its_line_and_field() -> None:
    text = BASELINE_TEXT.replace("max_days_per_week: 2", "max_days_per_week: dua")
    refused = _refusal(text)
    assert refused.line == _line_of(text, "max_days_per_week: dua")
    assert "max_days_per_week" in refused.reason


def test_unknown_key_is_refused_at_its_line() -> None:
    text = BASELINE_TEXT.replace("    cuti_bersama_deducted: true", "    cuti_bersama_deducted: true\n    bonus: 3")
    refused = _refusal(text)
    assert refused.line == _line_of(text, "bonus: 3")
    assert "tidak dikenal" in refused.reason


def test_duplicate_key_is_refused() -> None:
    text = BASELINE_TEXT.replace("timezone: Asia/Jakarta", "timezone: Asia/Jakarta\ntimezone: Asia/Makassar")
    refused = _refusal(text)
    assert refused.line == _line_of(text, "timezone: Asia/Makassar")
    assert "ganda" in refused.reason


def test_unknown_legal_basis_is_refused_at_the_reference() -> None:
    text = BASELINE_TEXT.replace(
        "  weekly_limit:\n    id: baseline.dua-hari-per-minggu\n    basis: permenpanrb-4-2025",
        "  weekly_limit:\n    id: baseline.dua-hari-per-minggu\n    basis: permen-khayalan",
    )
    refused = _refusal(text)
    assert refused.line == _line_of(text, "basis: permen-khayalan")
    assert "permen-khayalan" in refused.reason


def test_duplicate_rule_id_is_refused() -> None:
    text = BASELINE_TEXT.replace("id: baseline.ajukan-ulang", "id: baseline.bukan-hak")
    refused = _refusal(text)
    assert refused.line == _line_of(text, "id: baseline.bukan-hak") or "baseline.bukan-hak" in refused.reason
    assert "ganda" in refused.reason


def test_unknown_timezone_and_tier_are_refused() -> None:
    for zone in ("WITA", "Europe/Paris"):
        refused = _refusal(KENDARI_TEXT.replace("timezone: Asia/Makassar", f"timezone: {zone}"))
        assert refused.line == _line_of(KENDARI_TEXT, "timezone:")
        assert "zona waktu" in refused.reason
    refused = _refusal(
        KENDARI_TEXT.replace("add: {tier: PPK, action: approve}", "add: {tier: SEKDA, action: approve}", 1)
    )
    assert refused.line == _line_of(KENDARI_TEXT, "add: {tier: PPK")


def test_missing_section_is_refused() -> None:
    start = BASELINE_TEXT.index("timers:")
    end = BASELINE_TEXT.index("resubmit:")
    refused = _refusal(BASELINE_TEXT[:start] + BASELINE_TEXT[end:])
    assert "timers" in refused.reason and "wajib" in refused.reason


def test_times_are_not_read_as_base_60_numbers() -> None:
    luwu = load_pack((PACKS_DIR / "luwu-utara.yaml").read_text(encoding="utf-8"))
    windows = luwu.pack.obligations[0].windows
    assert [(w.start.hour, w.start.minute) for w in windows] == [(7, 30), (15, 0)]


def test_empty_and_non_mapping_packs_are_refused() -> None:
    assert _refusal("").line == 1
    assert _refusal("- a\n- b\n").line == 1


def test_invalid_utf8_is_refused_with_its_line() -> None:
    with pytest.raises(PackInvalid) as caught:
        load_pack(b"id: x\nname: \xff\n")
    assert caught.value.line == 2


def test_direct_construction_still_checks_cross_references() -> None:
    data = load_pack(BASELINE_TEXT).pack.model_dump()
    data["flexible"]["weekly_limit"]["basis"] = ("tidak-ada",)
    with pytest.raises(ValueError, match="tidak-ada"):
        PolicyPack.model_validate(data)


_MUTATIONS: list[Callable[[str], str]] = [
    lambda line: "",
    lambda line: line + " ]",
    lambda line: line.replace(":", " "),
    lambda line: line.split(":")[0] + ": {" if ":" in line else line + ": {",
    lambda line: "\t" + line,
    lambda line: line + "\n" + line,
    lambda line: line.replace("2025", "20x5"),
    lambda line: line.replace("WFA", "WFX"),
    lambda line: line.rstrip() + ": 1",
    lambda line: "  " + line,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=400), mutation=st.sampled_from(range(len(_MUTATIONS))))
def test_a_mutated_pack_is_either_valid_or_refused_with_line_and_reason(index: int, mutation: int) -> None:
    lines = KENDARI_TEXT.splitlines()
    index %= len(lines)
    lines[index] = _MUTATIONS[mutation](lines[index])
    text = "\n".join(lines) + "\n"
    try:
        load_pack(text)
    except PackInvalid as exc:
        assert 1 <= exc.line <= text.count("\n") + 1
        assert exc.reason.strip()
        assert all(1 <= line <= text.count("\n") + 1 and reason for line, reason in exc.problems)


# --- the CLI report -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PACK_FILES, ids=[p.stem for p in PACK_FILES])
def test_check_pack_renders(path: Path) -> None:
    ok, rendered = check_pack(path)
    assert ok
    console = Console(record=True, width=180)
    console.print(rendered)
    out = console.export_text()
    loaded = load_pack(path.read_bytes())
    assert loaded.sha256 in out
    assert f"{loaded.id} {loaded.version}" in out
    for rule_id in list(loaded.citations)[:5]:
        assert rule_id in out


def test_check_pack_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "rusak.yaml"
    bad.write_text(BASELINE_TEXT.replace("max_days_per_week: 2", "max_days_per_week: -1"), encoding="utf-8")
    ok, rendered = check_pack(bad)
    assert not ok
    console = Console(record=True, width=180)
    console.print(rendered)
    out = console.export_text()
    assert f"baris {_line_of(BASELINE_TEXT, 'max_days_per_week')}" in out
    missing_ok, _ = check_pack(tmp_path / "tidak-ada.yaml")
    assert not missing_ok


# What each release published: a store keeps every published text, and `lentur migrate` refuses to publish a
# different text under a version it already holds, so an upgraded installation would not start.
RELEASED = {
    "0.2.0": {
        ("bitung", "2025.12.1"): "25389b52a97dd0f226bcb1da913446dd7c15305a24af45763daa31496a4c7de0",
        ("kendari", "2025.12.1"): "cfa56c0dcd741f7b745cc038b2aebf0e63ffb55dedd56b33163602c633b2b123",
        ("kutai-timur", "2025.12.1"): "dcdff46618ef9d39030ed0d990a70aa9749dc6e2f7d142f76651a66c55c027a1",
        ("luwu-utara", "2025.12.1"): "c6c471109f0c07e9acf8fb2d92e6836f1c96a5829460cf5b48a039f80b79376d",
        ("national-baseline", "2025.12.1"): "6f4537f640704c92aa9b8046a44ee612ec4be6df0d793f2ec5d3d39794249c87",
        ("pesisir-barat", "2025.12.1"): "2c8f4f06fb6abcb05c6f3667ff8c7d329965dd1b9a795542ff65c358d665bc66",
    },
}


def test_a_shipped_pack_never_reuses_a_released_version_for_another_text() -> None:
    for text in bundled_pack_texts().values():
        loaded = load_pack(text)
        for release, published in RELEASED.items():
            sha = published.get((loaded.id, loaded.version))
            assert sha is None or sha == loaded.sha256, f"{loaded.id} {loaded.version} changed since {release}"
