"""`lentur policy diff`: rule-by-rule differences between two pack versions, with citations."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from policy.bundled import bundled_pack_texts
from policy.packs import load_pack
from services.whatif.commands import diff_command
from services.whatif.diff import diff_packs
from tests.whatif_drafts import kendari_without_ppk_for_annual_leave

PACKS = bundled_pack_texts()


def test_dropping_the_ppk_tier_shows_the_changed_route_and_the_removed_rule() -> None:
    before, after = load_pack(PACKS["kendari.yaml"]), load_pack(kendari_without_ppk_for_annual_leave())
    diff = diff_packs(before, after)

    assert diff["summary"]["removed"] == 1 and diff["summary"]["changed"] == 1 and diff["summary"]["added"] == 0
    assert diff["header"] == [{"field": "version", "before": "2025.12.1.1", "after": "2026.1.1"}]
    rules = {r["rule_id"]: r for r in diff["rules"]}
    removed = rules["kendari.izin-wali-kota-cuti-tahunan"]
    assert removed["change"] == "removed" and removed["after"] is None
    assert removed["before"]["citation"]["pack_version"] == "2025.12.1.1"
    assert "Wali Kota" in removed["before"]["clause"]

    route = rules["kendari.rute-cuti-tahunan"]
    assert route["change"] == "changed" and route["section"] == "routing.base"
    (steps,) = [f for f in route["fields"] if f["field"] == "steps"]
    assert [s["tier"] for s in steps["before"]] == ["UNIT_HEAD", "OPD_HEAD", "PYBMC"]
    assert steps["after"] == [{"tier": "UNIT_HEAD", "action": "recommend"}, {"tier": "OPD_HEAD", "action": "approve"}]
    assert route["before"]["citation"]["pack_version"] == "2025.12.1.1"
    assert route["after"]["citation"]["pack_version"] == "2026.1.1"


def test_a_changed_cap_and_clause_show_before_and_after() -> None:
    text = PACKS["bitung.yaml"]
    draft = text.replace("max_away_ratio: 0.5", "max_away_ratio: 0.25").replace(
        "WFO dan WFH dengan perbandingan 50:50.\n      kinds", "WFO dan WFH dengan perbandingan 75:25.\n      kinds"
    )
    diff = diff_packs(load_pack(text), load_pack(draft.replace("version: 2025.12.1.1", "version: 2025.12.2")))
    (cap,) = diff["rules"]
    assert cap["rule_id"] == "bitung.pelayanan-langsung-50-50"
    changes = {f["field"]: (f["before"], f["after"]) for f in cap["fields"]}
    assert changes["max_away_ratio"] == (0.5, 0.25)
    assert changes["clause"][0].endswith("50:50.") and changes["clause"][1].endswith("75:25.")
    assert cap["before"]["clause"].endswith("50:50.") and cap["after"]["clause"].endswith("75:25.")


def test_the_same_text_has_no_differences_and_json_is_stable(tmp_path: Path) -> None:
    diff = diff_packs(load_pack(PACKS["luwu-utara.yaml"]), load_pack(PACKS["luwu-utara.yaml"]))
    assert diff["same"] is True and diff["rules"] == [] and diff["summary"]["unchanged"] > 20

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(PACKS["kendari.yaml"], encoding="utf-8")
    b.write_text(kendari_without_ppk_for_annual_leave(), encoding="utf-8")
    outputs = []
    for _ in range(2):
        console = Console(file=(tmp_path / "out.json").open("w", encoding="utf-8"), width=200)
        diff_command(console, a_path=a, b_path=b, as_json=True)
        console.file.close()
        outputs.append((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["summary"]["removed"] == 1

    console = Console(record=True, width=200)
    diff_command(console, a_path=a, b_path=b, as_json=False)
    shown = console.export_text()
    assert "kendari.izin-wali-kota-cuti-tahunan" in shown and "dihapus" in shown
