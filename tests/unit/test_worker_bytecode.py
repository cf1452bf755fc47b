"""The worker's private bytecode directory exists only for a sandbox that imports workflow modules again."""

from __future__ import annotations

import sys

import pytest

from workflows.worker import sandbox_bytecode


def test_a_worker_without_the_sandbox_keeps_no_bytecode_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    with sandbox_bytecode(mode="off") as prefix:
        assert prefix is None
        assert sys.pycache_prefix is None and sys.dont_write_bytecode


def test_a_sandboxed_worker_keeps_it_while_it_runs_where_bytecode_is_not_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr("importlib.util.cache_from_source", lambda source: source + ".nowhere")
    with sandbox_bytecode(mode="strict") as prefix:
        assert prefix is not None and prefix.is_dir()
        assert sys.pycache_prefix == str(prefix) and not sys.dont_write_bytecode
    assert not prefix.exists()
    assert sys.pycache_prefix is None and sys.dont_write_bytecode
