"""Draft packs the what-if tests simulate: edits of the shipped packs, as a pemda would write the next version."""

from __future__ import annotations

from policy.bundled import bundled_pack_texts


def _bump(text: str, old_version: str, new_version: str) -> str:
    line = f"version: {old_version}"
    assert line in text, f"the shipped pack is no longer at {old_version}"
    return text.replace(line, f"version: {new_version}", 1)


def bitung_quarter_cap() -> str:
    """Bitung's direct-service units: at most 25% away a day instead of 50% (a 5-person unit: 1, not 2)."""
    text = bundled_pack_texts()["bitung.yaml"]
    assert "max_away_ratio: 0.5" in text
    text = text.replace("max_away_ratio: 0.5", "max_away_ratio: 0.25").replace(
        "WFO dan WFH dengan perbandingan 50:50.\n      kinds", "WFO dan WFH dengan perbandingan 75:25.\n      kinds"
    )
    return _bump(text, "2025.12.1.1", "2025.12.2")


def kendari_without_ppk_for_annual_leave() -> str:
    """Kendari's annual leave decided by the OPD head: no Wali Kota tier, in the window or outside it."""
    text = bundled_pack_texts()["kendari.yaml"]
    steps = "        - {tier: OPD_HEAD, action: recommend}\n        - {tier: PYBMC, action: approve}"
    assert steps in text
    text = text.replace(steps, "        - {tier: OPD_HEAD, action: approve}")
    start = text.index("    - id: kendari.izin-wali-kota-cuti-tahunan")
    text = text[:start] + text[text.index("  upward:") :]
    return _bump(text, "2025.12.1.1", "2026.1.1")
