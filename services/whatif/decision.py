"""One policy decision in a compact, comparable form, whether it was recorded or judged again.

The recorded side comes from `RouteDetermined` (and a system rejection at final approval); the draft side
from an `Evaluation`. Citations are shared dictionaries (a pack has a few dozen clauses, a season has 100k
requests citing them), so a season's decisions fit in memory and compare quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from contracts.common import Citation, RequestKind
from contracts.evaluation import Evaluation

Outcome = Literal["allowed", "refused"]
Stage = Literal["submit", "resubmit", "approval"]
CitationKey = tuple[str, str, str, str, str]
# (tier, action, approver_nip, approver_name, on_behalf_of, rule_id of the step's citation)
Step = tuple[str, str, str, str, str | None, str]


@dataclass(frozen=True, slots=True)
class UnitCap:
    unit_code: str
    cap: int
    unit_size: int
    dates: tuple[date, ...]
    kinds: frozenset[RequestKind]
    citation: dict[str, str]


@dataclass(frozen=True, slots=True)
class Debit:
    year: int
    days: int
    entitlement: int
    available: int


@dataclass(frozen=True, slots=True)
class Refused:
    code: str
    message: str
    citations: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    stage: Stage
    round: int
    policy: tuple[str, str]
    route: tuple[Step, ...]
    citations: tuple[dict[str, str], ...]
    caps: tuple[UnitCap, ...] = ()
    leave: Debit | None = None
    refusal: Refused | None = None

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(step[0] for step in self.route)

    def same_judgement(self, other: Decision) -> bool:
        """Equal as the evaluator would say it: pack, outcome, route, citations, caps, leave, refusal."""
        return (
            self.outcome == other.outcome
            and self.policy == other.policy
            and self.route == other.route
            and self.citations == other.citations
            and self.caps == other.caps
            and self.leave == other.leave
            and self.refusal == other.refusal
        )

    def refused_at_approval(self, code: str, message: str, citations: tuple[dict[str, str], ...]) -> Decision:
        return Decision(
            outcome="refused",
            stage="approval",
            round=self.round,
            policy=self.policy,
            route=self.route,
            citations=self.citations,
            caps=self.caps,
            leave=self.leave,
            refusal=Refused(code, message, citations),
        )


class CitationPool:
    """Shares one dictionary per distinct citation."""

    def __init__(self) -> None:
        self._by_value: dict[CitationKey, dict[str, str]] = {}
        self._by_object: dict[int, tuple[Citation, dict[str, str]]] = {}

    def of_dict(self, raw: dict[str, Any]) -> dict[str, str]:
        key = (raw["pack_id"], raw["pack_version"], raw["rule_id"], raw["source"], raw["clause"])
        found = self._by_value.get(key)
        if found is None:
            found = {
                "pack_id": key[0],
                "pack_version": key[1],
                "rule_id": key[2],
                "source": key[3],
                "clause": key[4],
            }
            self._by_value[key] = found
        return found

    def of(self, citation: Citation) -> dict[str, str]:
        # Packs hand out the same Citation object for a rule every time, so identity is a cheap first key;
        # the object is kept alive here so its id cannot be reused.
        hit = self._by_object.get(id(citation))
        if hit is not None and hit[0] is citation:
            return hit[1]
        shared = self.of_dict(
            {
                "pack_id": citation.pack_id,
                "pack_version": citation.pack_version,
                "rule_id": citation.rule_id,
                "source": citation.source,
                "clause": citation.clause,
            }
        )
        self._by_object[id(citation)] = (citation, shared)
        return shared


def from_evaluation(evaluation: Evaluation, pool: CitationPool, *, stage: Stage, round: int) -> Decision:
    policy = (evaluation.policy.id, evaluation.policy.version)
    citations = tuple(pool.of(c) for c in evaluation.citations)
    if evaluation.refusal is not None:
        refusal = evaluation.refusal
        return Decision(
            outcome="refused",
            stage=stage,
            round=round,
            policy=policy,
            route=(),
            citations=citations,
            refusal=Refused(refusal.code, refusal.message, tuple(pool.of(c) for c in refusal.citations)),
        )
    debit = evaluation.leave_debit
    return Decision(
        outcome="allowed",
        stage=stage,
        round=round,
        policy=policy,
        route=tuple(
            (s.tier.value, s.action, s.approver_nip, s.approver_name, s.on_behalf_of, s.citation.rule_id)
            for s in evaluation.route
        ),
        citations=citations,
        caps=tuple(
            UnitCap(c.unit_code, c.cap, c.unit_size, tuple(c.dates), c.kinds, pool.of(c.citation))
            for c in evaluation.caps
        ),
        leave=Debit(debit.year, debit.days, debit.entitlement, debit.available) if debit is not None else None,
    )


def from_record(
    payload: dict[str, Any], policy: dict[str, Any] | None, pool: CitationPool, *, stage: Stage
) -> Decision:
    """The decision `RouteDetermined` recorded (its envelope names the pack that made it)."""
    debit = payload.get("leave_debit")
    return Decision(
        outcome="allowed",
        stage=stage,
        round=int(payload.get("round", 1)),
        policy=(policy["id"], policy["version"]) if policy else ("", ""),
        route=tuple(
            (
                s["tier"],
                s.get("action", "approve"),
                s["approver_nip"],
                s["approver_name"],
                s.get("on_behalf_of"),
                s["citation"]["rule_id"],
            )
            for s in payload.get("route", ())
        ),
        citations=tuple(pool.of_dict(c) for c in payload.get("citations", ())),
        caps=tuple(
            UnitCap(
                c["unit_code"],
                int(c["cap"]),
                int(c["unit_size"]),
                tuple(_day(d) for d in c["dates"]),
                frozenset(RequestKind(k) for k in c["kinds"]),
                pool.of_dict(c["citation"]),
            )
            for c in payload.get("caps", ())
        ),
        leave=Debit(int(debit["year"]), int(debit["days"]), int(debit["entitlement"]), int(debit["available"]))
        if debit
        else None,
    )


_DAYS: dict[str, date] = {}


def _day(text: str) -> date:
    found = _DAYS.get(text)
    if found is None:
        found = _DAYS[text] = date.fromisoformat(text)
    return found


def parse_days(texts: list[str]) -> tuple[date, ...]:
    return tuple(_day(t) for t in texts)


# -- the report's view of one side ----------------------------------------------------------------------


def side_json(decision: Decision | None, status: str | None) -> dict[str, Any]:
    """`then` or `draft` of one report item: outcome, route (tiers), citations, refusal, quota, leave."""
    if decision is None:
        return {
            "outcome": None,
            "status": status,
            "route": [],
            "steps": [],
            "citations": [],
            "code": None,
            "refusal": None,
            "quota": [],
            "leave_debit": None,
            "policy": None,
            "stage": None,
            "round": None,
        }
    refusal = decision.refusal
    return {
        "outcome": decision.outcome,
        "status": status,
        "stage": decision.stage,
        "round": decision.round,
        "policy": {"id": decision.policy[0], "version": decision.policy[1]},
        "route": list(decision.tiers),
        "steps": [
            {
                "tier": tier,
                "action": action,
                "approver_nip": nip,
                "approver_name": name,
                "on_behalf_of": behalf,
                "rule_id": rule_id,
            }
            for tier, action, nip, name, behalf, rule_id in decision.route
        ],
        "citations": list(decision.citations),
        "code": refusal.code if refusal is not None else None,
        "refusal": {"code": refusal.code, "message": refusal.message, "citations": list(refusal.citations)}
        if refusal is not None
        else None,
        "quota": [
            {
                "unit_code": c.unit_code,
                "cap": c.cap,
                "unit_size": c.unit_size,
                "dates": [d.isoformat() for d in c.dates],
            }
            for c in decision.caps
        ],
        "leave_debit": {
            "year": decision.leave.year,
            "days": decision.leave.days,
            "entitlement": decision.leave.entitlement,
            "available": decision.leave.available,
        }
        if decision.leave is not None
        else None,
    }


def differences(then: Decision | None, draft: Decision | None) -> list[str]:
    """What differs, in report order. `outcome`, `code` and `route` are what `changed` counts."""
    if then is None or draft is None:
        return [] if then is draft else ["outcome"]
    found = []
    if then.outcome != draft.outcome:
        found.append("outcome")
    then_code = then.refusal.code if then.refusal else None
    draft_code = draft.refusal.code if draft.refusal else None
    if then_code != draft_code:
        found.append("code")
    if [(s[0], s[1], s[2]) for s in then.route] != [(s[0], s[1], s[2]) for s in draft.route]:
        found.append("route")
    if _cited(then) != _cited(draft):
        found.append("citations")
    if [(c.cap, c.unit_size) for c in then.caps] != [(c.cap, c.unit_size) for c in draft.caps]:
        found.append("quota")
    if then.leave != draft.leave:
        found.append("leave_debit")
    return found


DECISIVE = frozenset({"outcome", "code", "route"})


def _cited(decision: Decision) -> list[tuple[str, str, str]]:
    # A new pack version re-cites the same clauses; only which clause and what it says matter here.
    return [(c["pack_id"], c["rule_id"], c["clause"]) for c in decision.citations]
