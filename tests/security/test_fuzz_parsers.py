"""Hostile input to the two parsers an administrator feeds: policy packs (YAML) and the directory (CSV).

Whatever the text, `load_pack` either returns a pack or raises `PackInvalid` with a line number, and
`parse_directory_csv` either returns people or raises `DirectoryInvalid` with row numbers — never another
exception, and never after a long time (an alias bomb is refused at once).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.directory import MAX_ROWS, DirectoryInvalid, parse_directory_csv
from policy.packs import PackInvalid, load_pack

ROOT = Path(__file__).resolve().parents[2]
KENDARI = (ROOT / "policy" / "packs" / "kendari.yaml").read_text(encoding="utf-8")
SAMPLE = (ROOT / "deploy" / "data" / "directory-sample.csv").read_text(encoding="utf-8")
TODAY = date(2025, 12, 22)
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _pack_outcome(text: str | bytes) -> str:
    try:
        load_pack(text)
    except PackInvalid as exc:
        assert exc.line >= 1 and exc.reason
        return "invalid"
    return "ok"


def _directory_outcome(text: str) -> str:
    try:
        parse_directory_csv(text, today=TODAY)
    except DirectoryInvalid as exc:
        assert exc.errors and all(e.row >= 1 and e.reason for e in exc.errors)
        return "invalid"
    return "ok"


# -- policy packs ---------------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=2000))
def test_any_text_is_a_pack_or_a_located_refusal(text: str) -> None:
    _pack_outcome(text)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_pack_or_a_located_refusal(raw: bytes) -> None:
    _pack_outcome(raw)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(yaml_values)
def test_any_yaml_document_is_a_pack_or_a_located_refusal(value: object) -> None:
    _pack_outcome(yaml.safe_dump(value, allow_unicode=True))


@FUZZ
@given(st.data())
def test_an_edited_real_pack_is_a_pack_or_a_located_refusal(data: st.DataObject) -> None:
    lines = KENDARI.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break  # truncated, then dropped: an empty pack is edited no further
        at = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["drop", "duplicate", "retype", "indent", "truncate"]))
        if edit == "drop":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "retype" and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {data.draw(st.text(max_size=20))}"
        elif edit == "indent":
            lines[at] = "  " + lines[at]
        elif edit == "truncate":
            lines = lines[: at + 1]
    _pack_outcome("\n".join(lines) + "\n")


def test_an_alias_bomb_is_refused_at_once() -> None:
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.monotonic()
    assert _pack_outcome("\n".join(levels) + "\n") == "invalid"
    # 9^10 nodes once expanded; refused while reading, long before that could happen
    assert time.monotonic() - started < 5


def test_the_bundled_pack_still_loads() -> None:
    assert _pack_outcome(KENDARI) == "ok"


# -- directory CSV --------------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=3000))
def test_any_text_is_a_directory_or_row_numbered_refusals(text: str) -> None:
    _directory_outcome(text)


HEADER = SAMPLE.splitlines()[0]
cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)


@FUZZ
@given(st.lists(st.lists(cell, min_size=0, max_size=14), max_size=20))
def test_rows_of_any_cells_are_a_directory_or_row_numbered_refusals(rows: list[list[str]]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    _directory_outcome(out.getvalue())


@FUZZ
@given(st.data())
def test_an_edited_real_directory_is_a_directory_or_row_numbered_refusals(data: st.DataObject) -> None:
    lines = SAMPLE.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(1, len(lines) - 1))
        cells = lines[at].split(",")
        column = data.draw(st.integers(0, len(cells) - 1))
        cells[column] = data.draw(
            st.sampled_from(["", "x", "kendari", "PPPK", "unit_head;admin", "199505042021012163", '"', "\x00"])
            | st.text(max_size=12)
        )
        lines[at] = ",".join(cells)
    _directory_outcome("\n".join(lines) + "\n")


def test_the_sample_directory_parses() -> None:
    assert _directory_outcome(SAMPLE) == "ok"


def test_more_rows_than_the_limit_are_refused_with_the_row_number() -> None:
    row = SAMPLE.splitlines()[1]
    text = SAMPLE.splitlines()[0] + "\n" + "\n".join([row] * (MAX_ROWS + 1)) + "\n"
    try:
        parse_directory_csv(text, today=TODAY)
    except DirectoryInvalid as exc:
        assert any(e.row == MAX_ROWS + 2 and str(MAX_ROWS) in e.reason for e in exc.errors)
    else:
        raise AssertionError("a directory over the row limit was accepted")
