"""The dev server's SQLite settings: write-ahead log with every commit synced unless the operator says otherwise."""

from __future__ import annotations

import pytest

from deploy.infra import temporal_sqlite_pragmas


def test_by_default_the_log_is_written_ahead_and_every_commit_synced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENTUR_TEMPORAL_SQLITE_PRAGMAS", raising=False)
    assert temporal_sqlite_pragmas() == [
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=full",
    ]


def test_an_operator_may_set_their_own_or_keep_sqlites_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENTUR_TEMPORAL_SQLITE_PRAGMAS", " journal_mode=wal, synchronous=normal ,")
    assert temporal_sqlite_pragmas() == ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    monkeypatch.setenv("LENTUR_TEMPORAL_SQLITE_PRAGMAS", "none")
    assert temporal_sqlite_pragmas() == []
