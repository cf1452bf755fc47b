"""The bench's arithmetic: which batch holds a position, and how figures are held against the targets."""

from __future__ import annotations

from deploy.bench.run import targets
from deploy.bench.scenarios import LagProbe, percentiles

BATCHES = [(3, 10.0), (7, 10.5), (8, 11.0)]  # (last position of a committed batch, when)


def test_a_position_belongs_to_the_first_batch_that_reaches_it() -> None:
    assert LagProbe._first_at_or_after(BATCHES, 1) == 10.0
    assert LagProbe._first_at_or_after(BATCHES, 3) == 10.0
    assert LagProbe._first_at_or_after(BATCHES, 4) == 10.5
    assert LagProbe._first_at_or_after(BATCHES, 8) == 11.0
    assert LagProbe._first_at_or_after(BATCHES, 9) is None  # not committed (yet)


def test_percentiles_are_in_milliseconds_and_pick_the_tail() -> None:
    figures = percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert figures["n"] == 100 and figures["p50_ms"] == 51.0 and figures["p99_ms"] == 100.0
    assert percentiles([]) == {"n": 0}


def test_targets_say_met_or_not_in_the_right_direction() -> None:
    scenarios = {
        "workflow_vs_full_path": {
            "20": {
                "full_vs_bare_throughput": 0.65,
                "full": {
                    "decision_recorded_to_visible": {"p99_ms": 90.0},
                    "decision_recorded_to_answered": {"p99_ms": 300.0},
                    "decision_round_trip": {"p99_ms": 400.0},
                },
            }
        },
        "projection_lag": {"p99_ms": 120.0},
    }
    met = {t["target"].split(",")[0].split(" p99")[0]: t["met"] for t in targets(scenarios)}
    assert met["full path throughput / bare workflow ceiling at concurrency 20"] is True
    assert met["decision recorded → visible in GET /api/requests/{id}"] is True
    assert met["decision recorded → approver's answer showing it"] is False
    assert met["projection lag"] is False


def test_projection_lag_pairs_each_commit_with_the_batch_that_made_it_visible() -> None:
    probe = LagProbe("unused")
    probe.committed = {2: 1.000, 5: 1.010, 9: 1.020}  # a commit's NOTIFY names its last position
    probe.applied = [(6, 1.050), (3, 1.004)]  # the projector's batches, in any order; 9 not applied yet
    figures = probe.figures()
    assert figures["n"] == 2 and figures["max_ms"] == 40.0 and figures["p50_ms"] == 40.0
