"""The packs shipped with Lentur (policy/packs/*.yaml). This is the only place the policy package reads files;
the loader and the evaluator stay pure and take text."""

from __future__ import annotations

from importlib import resources

from policy.packs import PackSet, load_pack


def bundled_pack_texts() -> dict[str, str]:
    """File name → exact text of every shipped pack."""
    folder = resources.files("policy").joinpath("packs")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def bundled_packs() -> PackSet:
    return PackSet(load_pack(text) for text in bundled_pack_texts().values())
