"""The what-if simulator on a synthetic season made the way the live service makes its log (pure, no I/O)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.common import PolicyRef, RequestKind
from contracts.events import EventEnvelope
from policy.bundled import bundled_pack_texts
from policy.packs import LoadedPack, load_pack
from services.approvals.state import ApprovalState
from services.whatif.commands import report_bytes
from services.whatif.report import build_report
from services.whatif.simulator import Judged, LogEvent, Period, Simulation
from services.whatif.synthetic import SEASON, SeasonWriter, as_log, synthetic_directory

PACKS = bundled_pack_texts()
SEASON_PERIOD = Period(*SEASON)


@lru_cache(maxsize=1)
def season() -> tuple[LogEvent, ...]:
    # Small units (5 people) and many requests per person make caps, weekly limits and leave bite.
    people = synthetic_directory(160, unit_size=5)
    writer = SeasonWriter(people, list(PACKS.values()), seed=7)
    return tuple(as_log(list(writer.events(1500))))


def simulate(draft: LoadedPack, regions: frozenset[str] | None, **kwargs: Any) -> dict[str, Any]:
    simulation = Simulation(
        draft=draft, period=SEASON_PERIOD, regions=regions, bundled_pack_texts=PACKS.values(), **kwargs
    )
    simulation.feed_all(season())
    return build_report(simulation)


def bumped(text: str, old: str, new: str) -> LoadedPack:
    assert old in text
    changed = text.replace(old, new)
    version = next(line for line in changed.splitlines() if line.startswith("version: "))
    *head, last = version.split(".")
    return load_pack(changed.replace(version, ".".join([*head, str(int(last) + 1)]), 1))


def recorded_decisions(region: str | None) -> int:
    submitted = {
        e.payload["request_id"]
        for e in season()
        if e.type == "RequestSubmitted" and (region is None or e.payload["region"] == region)
    }
    return sum(1 for e in season() if e.type == "RouteDetermined" and e.payload["request_id"] in submitted)


@pytest.mark.parametrize("pack_file", sorted(PACKS))
def test_the_pack_in_force_reproduces_every_recorded_decision(pack_file: str) -> None:
    draft = load_pack(PACKS[pack_file])
    regions = frozenset({draft.pack.region}) if draft.pack.region else None
    report = simulate(draft, regions)

    assert report["fidelity"]["mismatched"] == []
    assert report["fidelity"]["checked"] == recorded_decisions(draft.pack.region) > 0
    assert report["total"] > 0 and report["changed"] == 0
    for item in report["items"]:
        then, under = item["then"], item["draft"]
        assert item["reproduced"] is True
        assert (under["outcome"], under["code"], under["route"], under["steps"], under["citations"]) == (
            then["outcome"],
            then["code"],
            then["route"],
            then["steps"],
            then["citations"],
        ), item["request_id"]
        assert under["status"] == then["status"]
    assert report["staffing"]["then"] == report["staffing"]["draft"]


def test_a_tighter_bitung_cap_refuses_exactly_what_exceeds_it() -> None:
    draft = bumped(PACKS["bitung.yaml"], "max_away_ratio: 0.5", "max_away_ratio: 0.25")
    report = simulate(draft, frozenset({"bitung"}))
    items = report["items"]
    changed = [i for i in items if i["changed"]]
    assert changed, "the season has days on which more than a quarter of a unit worked from home"

    for item in changed:
        assert item["then"]["outcome"] == "allowed" and item["draft"]["outcome"] == "refused"
        assert item["draft"]["code"] == "unit_cap_reached"
        assert item["kind"] in ("WFH", "WFA")
        assert item["draft"]["refusal"]["citations"][0]["rule_id"] == "bitung.pelayanan-langsung-50-50"
        assert item["draft"]["refusal"]["citations"][0]["pack_version"] == draft.version
    unchanged = [i for i in items if not i["changed"]]
    assert all(i["draft"]["outcome"] == i["then"]["outcome"] for i in unchanged)

    # In the draft's world no unit-day has more approved people away than the new cap allows ...
    approved_then: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    approved_draft: Counter[tuple[str, str]] = Counter()
    caps: dict[str, int] = {}
    for item in items:
        if item["kind"] not in ("WFH", "WFA") or not item["then"]["quota"]:
            continue
        caps[item["unit_code"]] = item["then"]["quota"][0]["unit_size"] // 4  # a quarter, rounded down
        for day in item["dates"]:
            if item["then"]["status"] == "APPROVED":
                approved_then[(item["unit_code"], day)].append(item)
            if item["draft"]["status"] == "APPROVED":
                approved_draft[(item["unit_code"], day)] += 1
    assert all(count <= caps[unit] for (unit, _), count in approved_draft.items())
    # ... and of the approvals a unit-day had above the new cap, every surplus one is refused by the draft.
    over = 0
    for (unit, _), approved in approved_then.items():
        surplus = len(approved) - caps[unit]
        if surplus > 0:
            over += 1
            assert sum(1 for i in approved if i["draft"]["outcome"] == "refused") >= surplus
    assert over > 0


def test_the_report_is_the_same_bytes_every_time_even_in_another_process() -> None:
    draft = bumped(PACKS["bitung.yaml"], "max_away_ratio: 0.5", "max_away_ratio: 0.25")
    first = report_bytes(simulate(draft, frozenset({"bitung"})))
    assert first == report_bytes(simulate(draft, frozenset({"bitung"})))

    # another interpreter with another hash seed (set iteration order differs) gives the same bytes
    script = (
        "import hashlib\n"
        "from tests.unit.test_whatif_simulator import PACKS, bumped, simulate\n"
        "from services.whatif.commands import report_bytes\n"
        "d = bumped(PACKS['bitung.yaml'], 'max_away_ratio: 0.5', 'max_away_ratio: 0.25')\n"
        "print(hashlib.sha256(report_bytes(simulate(d, frozenset({'bitung'})))).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == hashlib.sha256(first).hexdigest()


def test_the_national_draft_judges_every_region_and_reports_per_opd_and_day() -> None:
    baseline = PACKS["national-baseline.yaml"]
    draft = bumped(baseline, "max_days_per_week: 2", "max_days_per_week: 1")
    report = simulate(draft, None)
    assert {row["region"] for row in report["by_opd"]} == {
        "kutai-timur",
        "bitung",
        "luwu-utara",
        "pesisir-barat",
        "kendari",
    }
    assert report["changed"] > 0
    codes = {i["draft"]["code"] for i in report["items"] if i["changed"]}
    assert codes == {"weekly_flexible_limit"}
    # flexible days inside a region's window follow its circular, so they never change
    loaded = [load_pack(t) for t in PACKS.values()]
    windows = {p.pack.region: p.window_dates for p in loaded if p.pack.scope == "regional"}
    for item in report["items"]:
        if item["changed"]:
            days = {date.fromisoformat(d) for d in item["dates"]}
            assert not days <= windows[item["region"]]
    assert sum(row["changed"] for row in report["by_opd"]) == report["changed"]
    assert sum(row["requests"] for row in report["by_opd"]) == report["total"]
    assert max(row["changed"] for row in report["by_day"]) <= report["changed"]


def _envelope(event: LogEvent) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid4(),
        stream_id="s",
        version=1,
        position=event.position,
        type=event.type,
        schema_version=1,
        occurred_at=event.occurred_at,
        actor="system",
        correlation_id="c",
        policy=PolicyRef.model_validate(event.policy) if event.policy else None,
        payload=event.payload,
        content_hash="",
        prev_hash=None,
        hash="",
        chain_hash="",
    )


def _usage_from_read_models(state: ApprovalState, submitted: dict[str, Any]) -> dict[str, Any]:
    """What `ReadModels.usage_for` answers from the approval state's tables."""
    nip, dates = submitted["requester_nip"], {date.fromisoformat(d) for d in submitted["dates"]}
    unit: Counter[date] = Counter()
    for row in state["rm_unit_day"].rows.values():
        if (
            row["region"] == submitted["region"]
            and row["unit_code"] == submitted["unit_code"]
            and row["day"] in dates
            and row["kind"] in ("WFH", "WFA")
        ):
            unit[row["day"]] += 1
    approved: dict[date, RequestKind] = {}
    pending: set[date] = set()
    besar: set[int] = set()
    for row in state["rm_requests"].rows.values():
        if row["requester_nip"] != nip:
            continue
        if row["kind"] == "CUTI_BESAR" and row["status"] in ("APPROVED", "PENDING", "RETURNED"):
            besar.update(d.year for d in row["dates"])
        if row["status"] == "APPROVED":
            approved.update({d: RequestKind(row["kind"]) for d in row["dates"]})
        elif row["status"] in ("PENDING", "RETURNED") and row["kind"] in ("WFH", "WFA"):
            pending.update(row["dates"])
    on_cltn = {
        row["requester_nip"]
        for row in state["rm_requests"].rows.values()
        if row["region"] == submitted["region"]
        and row["kind"] == "CLTN"
        and row["status"] == "APPROVED"
        and dates & set(row["dates"])
        and row["requester_nip"] != nip
    }
    used: Counter[int] = Counter()
    deferred: Counter[int] = Counter()
    for row in state["rm_leave"].rows.values():
        # the request's own leave is reserved after it was judged and before it was recorded
        if row["nip"] == nip and row["request_id"] != UUID(submitted["request_id"]):
            (deferred if row["state"] == "deferred" else used)[row["year"]] += row["days"]
    return {
        "unit_flexible_by_date": dict(unit),
        "own_approved_dates": approved,
        "own_pending_flexible_dates": frozenset(pending),
        "annual_leave_used": dict(used),
        "annual_leave_deferred": dict(deferred),
        "cuti_besar_years": frozenset(besar),
        "on_cltn": frozenset(on_cltn),
    }


def test_usage_is_what_the_approval_read_models_would_have_shown() -> None:
    seen: dict[str, Judged] = {}
    simulation = Simulation(
        draft=load_pack(PACKS["bitung.yaml"]),
        period=SEASON_PERIOD,
        regions=None,
        bundled_pack_texts=PACKS.values(),
        on_rejudged=lambda rid, round_, judged: seen.setdefault(rid, judged) if round_ == 1 else None,
    )
    simulation.feed_all(season())

    state = ApprovalState()
    compared = 0
    for event in season():
        if event.type == "RequestSubmitted":
            expected = _usage_from_read_models(state, event.payload)
            assert seen[event.payload["request_id"]].usage.model_dump() == expected
            compared += 1
        state.apply(_envelope(event))
    assert compared == 1500
    busy = [j for j in seen.values() if j.usage.unit_flexible_by_date and j.usage.annual_leave_used]
    assert busy, "the season exercises unit usage and leave balances together"


def test_a_recorded_decision_the_packs_would_not_make_is_reported_as_not_reproduced() -> None:
    tampered: list[LogEvent] = []
    target = None
    for event in season():
        if target is None and event.type == "RouteDetermined" and len(event.payload["route"]) > 1:
            # the record says the first tier was skipped, which no pack in force would decide
            target = event.payload["request_id"]
            payload = {**event.payload, "route": event.payload["route"][1:]}
            event = LogEvent(event.position, event.type, event.occurred_at, event.policy, payload)
        tampered.append(event)
    assert target is not None
    simulation = Simulation(
        draft=load_pack(PACKS["national-baseline.yaml"]),
        period=SEASON_PERIOD,
        regions=None,
        bundled_pack_texts=PACKS.values(),
    )
    simulation.feed_all(tampered)
    report = build_report(simulation)
    assert report["fidelity"]["mismatched"] == [target]
    assert report["fidelity"]["reproduced"] == report["fidelity"]["checked"] - 1
    (item,) = [i for i in report["items"] if i["request_id"] == target]
    assert item["reproduced"] is False


def test_a_large_season_lists_only_its_changed_requests_but_counts_them_all() -> None:
    draft = bumped(PACKS["bitung.yaml"], "max_away_ratio: 0.5", "max_away_ratio: 0.25")
    simulation = Simulation(
        draft=draft, period=SEASON_PERIOD, regions=frozenset({"bitung"}), bundled_pack_texts=PACKS.values()
    )
    simulation.feed_all(season())
    full = build_report(simulation)
    capped = build_report(simulation, list_all_up_to=10)
    assert full["items_listed"] == "all" and len(full["items"]) == full["total"] > 10
    assert capped["items_listed"] == "changed" and capped["total"] == full["total"]
    assert [i["request_id"] for i in capped["items"]] == [i["request_id"] for i in full["items"] if i["changed"]]
    assert {k: v for k, v in capped.items() if k not in ("items", "items_listed")} == {
        k: v for k, v in full.items() if k not in ("items", "items_listed")
    }
