"""`lentur` ends through `exit_now`: the command's own status, and every byte it wrote still arrives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.process_exit import status_of

PACKS = Path(__file__).resolve().parents[2] / "policy" / "packs"


def lentur(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_long_answer_written_to_a_pipe_arrives_whole() -> None:
    # A pipe is block-buffered: without the flush before os._exit the tail of the JSON would be lost.
    done = lentur("policy", "diff", str(PACKS / "kendari.yaml"), str(PACKS / "bitung.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 8192
    assert json.loads(done.stdout)


def test_a_refusal_keeps_its_status_and_message() -> None:
    done = lentur("policy", "diff", str(PACKS / "kendari.yaml"), str(PACKS / "tidak-ada.yaml"))
    assert done.returncode != 0
    assert "tidak-ada.yaml" in done.stdout + done.stderr


def test_usage_errors_keep_click_status() -> None:
    done = lentur("bench", "--only", "nothing")
    assert done.returncode == 2
    assert "--only" in done.stderr


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), ("pesan", 1)])
def test_status_of_sys_exit(code: object, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert status_of(SystemExit(code)) == status
    if isinstance(code, str):
        assert "pesan" in capsys.readouterr().err
