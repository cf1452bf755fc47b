"""The benchmark's ceiling runs in its own worker process: it must start in the sandbox and finish workflows,
or every figure compared with it is meaningless (a worker that died at start once left the bench waiting)."""

from __future__ import annotations

import pytest

from deploy.bench.scenarios import BareCeiling
from deploy.infra import InfraAddresses


@pytest.mark.parametrize("mode", ["shared", "strict"])
async def test_the_bare_workflow_worker_starts_and_takes_workflows_to_their_result(
    infra: InfraAddresses, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENTUR_WORKFLOW_SANDBOX", mode)  # read by the worker process, as by Lentur's worker
    bare = BareCeiling(infra.temporal_address)
    bare.start()
    try:
        figures = await bare.run(concurrency=2, iterations=3)
    finally:
        bare.stop()
    assert figures["completed"] == 3
    assert figures["update"]["n"] == 6  # two decisions per workflow, each answered
