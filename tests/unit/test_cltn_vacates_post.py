"""A holder on an approved CLTN is released from their post for its days (PP 11/2017): the route passes over
them, to a Plt/Plh named for them or to the next tier up, and the step that takes over cites the CLTN rule."""

from __future__ import annotations

from datetime import date

from contracts.common import RequestKind, Role, Tier
from contracts.evaluation import Evaluation, UsageSnapshot
from policy.directory import DirectoryIndex
from services.whatif.ledger import UsageLedger

from .policy_support import KUTIM_OPD_HEAD, KUTIM_PPK, KUTIM_STAFF, KUTIM_UNIT_HEAD, judge, people

D30, D31 = date(2025, 12, 30), date(2025, 12, 31)
KUTIM_COLLEAGUE = "198910162013031036"  # Andi Andi, same unit as KUTIM_STAFF
CLTN_RULE = "kutai-timur.cltn"
CLTN = RequestKind.CLTN


def _steps(evaluation: Evaluation) -> list[tuple[Tier, str, str | None]]:
    return [(s.tier, s.approver_nip, s.on_behalf_of) for s in evaluation.route]


def on_cltn(*nips: str) -> UsageSnapshot:
    return UsageSnapshot(on_cltn=frozenset(nips))


def test_a_unit_head_on_cltn_is_passed_over_and_the_next_holder_s_step_cites_the_cltn_rule() -> None:
    passed = judge(KUTIM_STAFF, "WFH", [D30], usage=on_cltn(KUTIM_UNIT_HEAD))
    assert passed.allowed, passed.refusal
    assert _steps(passed) == [(Tier.OPD_HEAD, KUTIM_OPD_HEAD, None)]
    assert passed.route[0].citation.rule_id == CLTN_RULE
    assert "Pasal 334" in passed.route[0].citation.clause
    assert CLTN_RULE in {c.rule_id for c in passed.citations}

    present = judge(KUTIM_STAFF, "WFH", [D31])  # no CLTN on that day: the unit head has the post again
    assert _steps(present) == [(Tier.UNIT_HEAD, KUTIM_UNIT_HEAD, None), (Tier.OPD_HEAD, KUTIM_OPD_HEAD, None)]
    assert CLTN_RULE not in {s.citation.rule_id for s in present.route}


def test_a_deciding_head_on_cltn_moves_the_decision_up_with_the_cltn_rule() -> None:
    moved = judge(KUTIM_STAFF, "WFH", [D30], usage=on_cltn(KUTIM_OPD_HEAD))
    assert _steps(moved) == [(Tier.UNIT_HEAD, KUTIM_UNIT_HEAD, None), (Tier.PPK, KUTIM_PPK, None)]
    assert moved.route[0].citation.rule_id != CLTN_RULE
    assert moved.route[-1].citation.rule_id == CLTN_RULE


def with_plh_for_unit_head(plh: str) -> DirectoryIndex:
    """The directory with `plh` named Plh of KUTIM_UNIT_HEAD."""
    return DirectoryIndex(
        p.model_copy(update={"roles": frozenset({Role.UNIT_HEAD}), "acting_for": KUTIM_UNIT_HEAD})
        if p.nip == plh
        else p
        for p in people()
    )


def test_a_plh_named_for_the_head_on_cltn_takes_the_step_on_their_behalf() -> None:
    with_plh = with_plh_for_unit_head(KUTIM_COLLEAGUE)
    evaluation = judge(KUTIM_STAFF, "WFH", [D30], usage=on_cltn(KUTIM_UNIT_HEAD), index=with_plh)
    assert _steps(evaluation) == [
        (Tier.UNIT_HEAD, KUTIM_COLLEAGUE, KUTIM_UNIT_HEAD),
        (Tier.OPD_HEAD, KUTIM_OPD_HEAD, None),
    ]
    assert evaluation.route[0].citation.rule_id == CLTN_RULE
    # without the CLTN the holder himself decides and the Plh stands by
    assert _steps(judge(KUTIM_STAFF, "WFH", [D30], index=with_plh))[0] == (Tier.UNIT_HEAD, KUTIM_UNIT_HEAD, None)


def test_the_head_s_own_request_is_routed_as_before() -> None:
    own = judge(KUTIM_UNIT_HEAD, "WFH", [D30], usage=on_cltn(KUTIM_UNIT_HEAD))
    assert _steps(own) == _steps(judge(KUTIM_UNIT_HEAD, "WFH", [D30]))
    assert CLTN_RULE not in {s.citation.rule_id for s in own.route}


def test_the_simulator_s_ledger_tells_the_evaluator_who_is_on_cltn_as_the_read_models_do() -> None:
    ledger = UsageLedger()
    ledger.submitted("r1", nip=KUTIM_UNIT_HEAD, region="kutai-timur", unit_code="BAPPEDA-U2", kind=CLTN, dates=(D30,))
    staff = {"nip": KUTIM_STAFF, "region": "kutai-timur", "unit_code": "BAPPEDA-U2"}
    assert ledger.usage(**staff, dates=(D30,)).on_cltn == frozenset()  # not granted yet
    ledger.approved("r1")
    assert ledger.usage(**staff, dates=(D30, D31)).on_cltn == {KUTIM_UNIT_HEAD}
    assert ledger.usage(**staff, dates=(D31,)).on_cltn == frozenset()
    own = ledger.usage(nip=KUTIM_UNIT_HEAD, region="kutai-timur", unit_code="BAPPEDA-U2", dates=(D30,))
    assert own.on_cltn == frozenset()
    ledger.finished("r1", "CANCELLED")
    assert ledger.usage(**staff, dates=(D30,)).on_cltn == frozenset()


def test_a_plh_never_takes_the_post_for_their_own_request() -> None:
    with_plh = with_plh_for_unit_head(KUTIM_STAFF)
    evaluation = judge(KUTIM_STAFF, "WFH", [D30], usage=on_cltn(KUTIM_UNIT_HEAD), index=with_plh)
    assert _steps(evaluation) == [(Tier.OPD_HEAD, KUTIM_OPD_HEAD, None)]
    assert evaluation.route[0].citation.rule_id == CLTN_RULE
