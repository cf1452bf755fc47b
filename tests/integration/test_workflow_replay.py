"""Safe upgrades: recorded histories of every workflow path must replay against today's workflow code.

A change that alters the order of commands (without `workflow.patched(...)`) makes this fail. Three
generations are kept for each path, each standing for requests that may still be in flight:
- `<path>.json`: today's, type ApprovalWorkflowV2 (from release 0.2.0; no patch markers);
- `<path>.v2.json`: type ApprovalWorkflow with patch markers (releases before 0.2.0);
- `<path>.v1.json`: type ApprovalWorkflow from before appends became local activities.
ComplianceWorkflow keeps `compliance_checkin_at_start.json` (a check-in delivered with the workflow's start, with
the patch duties-before-updates) and `.unpatched.json` (the same, recorded before that patch).
Histories replay under the strict sandbox, so a non-deterministic call on a recorded path fails here too.
Record today's generation again only for an intentional, versioned change: `LENTUR_RECORD_HISTORIES=1 pytest
tests/integration/test_approval_workflow.py` (it rewrites the unsuffixed files only).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from runtime.settings import SandboxMode
from workflows.worker import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
REQUIRED_PATHS = {"approve", "reject", "return_resubmit", "cancel", "escalate", "expire", "approve_with_duties"}
# Leave decisions (tests/integration/test_leave_decisions_workflow.py): recorded after the patch
# "leave-considerations", so an advisory refusal before the PYBMC carries its marker; reject.json (recorded
# before it) replays the old path where that refusal ended the request.
LEAVE_PATHS = {"leave_advisory", "leave_binding", "leave_change", "leave_defer"}


RECORDED = sorted(p.name.removesuffix(".json") for p in HISTORIES.glob("*.json"))


def test_every_path_has_a_recorded_history_for_today_and_before_each_patch() -> None:
    assert set(RECORDED) >= REQUIRED_PATHS  # recorded with today's code
    assert set(RECORDED) >= {f"{p}.v2" for p in REQUIRED_PATHS}  # the type with patch markers
    assert set(RECORDED) >= {f"{p}.v1" for p in REQUIRED_PATHS - {"approve_with_duties"}}  # before local activities


def workflow_type(path: str) -> str:
    first = json.loads((HISTORIES / f"{path}.json").read_text())["events"][0]
    name: str = first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
    return name


def test_leave_decision_paths_are_recorded_and_the_advisory_one_is_patched() -> None:
    assert set(RECORDED) >= LEAVE_PATHS
    assert all(workflow_type(p) == "ApprovalWorkflowV2" for p in LEAVE_PATHS)
    assert "core_patch" in (HISTORIES / "leave_advisory.json").read_text()
    assert "core_patch" not in (HISTORIES / "reject.json").read_text()


@pytest.mark.parametrize("path", sorted(REQUIRED_PATHS))
def test_todays_histories_are_the_new_type_and_record_no_patch_markers(path: str) -> None:
    assert workflow_type(path) == "ApprovalWorkflowV2"
    assert workflow_type(f"{path}.v2") == "ApprovalWorkflow"
    text = (HISTORIES / f"{path}.json").read_text()
    assert "core_patch" not in text and "TemporalChangeVersion" not in text


# strict is what CI holds workflow code to; off is how the production worker runs it.
@pytest.mark.parametrize("mode", ["strict", "off"])
@pytest.mark.parametrize("path", RECORDED)
async def test_recorded_history_replays_deterministically(path: str, mode: SandboxMode) -> None:
    text = (HISTORIES / f"{path}.json").read_text()
    history = WorkflowHistory.from_json(f"request-replay-{path}", json.loads(text))
    runner = workflow_runner(mode)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path}: {result.replay_failure}"
