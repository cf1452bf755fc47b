"""A pack may make a leave step's consideration (pertimbangan) binding, with the clause that says why."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.common import RequestKind, Tier
from policy.bundled import bundled_pack_texts
from policy.packs import PackInvalid, PackSet, load_pack
from tests.unit.policy_support import KENDARI_VITAL, judge

PLAIN = "        - {tier: UNIT_HEAD, action: recommend}\n        - {tier: OPD_HEAD, action: recommend}\n"
BINDING = (
    "        - {tier: UNIT_HEAD, action: recommend, binding: {id: kendari.pertimbangan-mengikat, basis: pp-11-2017,"
    " clause: Pertimbangan atasan langsung yang tidak menyetujui mengakhiri permohonan cuti tahunan.}}\n"
    "        - {tier: OPD_HEAD, action: recommend}\n"
)


def kendari_with(steps: str) -> str:
    text = bundled_pack_texts()["kendari.yaml"]
    assert PLAIN in text
    return text.replace(PLAIN, steps, 1)


def packset_with(text: str) -> PackSet:
    texts = {**bundled_pack_texts(), "kendari.yaml": text}
    return PackSet(load_pack(t) for t in texts.values())


def test_a_binding_step_is_on_the_route_with_its_own_citation() -> None:
    evaluation = judge(
        KENDARI_VITAL, RequestKind.CUTI_TAHUNAN, [date(2025, 12, 29)], packset=packset_with(kendari_with(BINDING))
    )
    assert evaluation.allowed, evaluation.refusal
    first, second, pybmc = evaluation.route
    assert (first.tier, first.binding) == (Tier.UNIT_HEAD, True)
    assert first.binding_citation is not None and first.binding_citation.rule_id == "kendari.pertimbangan-mengikat"
    assert "mengakhiri permohonan" in first.binding_citation.clause
    assert not second.binding and not pybmc.binding


def test_steps_are_advisory_unless_the_pack_says_so() -> None:
    evaluation = judge(KENDARI_VITAL, RequestKind.CUTI_TAHUNAN, [date(2025, 12, 29)])
    assert [s.binding for s in evaluation.route] == [False, False, False]


def test_only_a_consideration_can_bind() -> None:
    deciding = BINDING.replace("action: recommend, binding", "action: approve, binding")
    with pytest.raises(PackInvalid) as refused:
        load_pack(kendari_with(deciding))
    assert "binding hanya untuk langkah pertimbangan" in refused.value.reason
