"""`lentur policy simulate` and `lentur policy diff`: the CLI's side, kept here so `deploy/cli.py` only wires."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text

from policy.packs import LoadedPack, PackInvalid, load_pack
from runtime.settings import Settings
from services.whatif.diff import diff_packs
from services.whatif.history import DraftConflict
from services.whatif.render import render_diff, render_simulation
from services.whatif.service import SimulationSpec, scope_for, simulate
from services.whatif.simulator import Period


def report_bytes(report: dict[str, Any]) -> bytes:
    """The one byte form of a report (sorted keys, no whitespace): same store and draft, same bytes."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass
class CommandFailed(Exception):
    message: RenderableType
    exit_code: int = 2


def read_pack(path: Path) -> LoadedPack:
    try:
        return load_pack(path.read_bytes())
    except OSError as exc:
        raise CommandFailed(Text(f"{path}: tidak dapat dibaca ({exc.strerror or exc})", style="red")) from exc
    except PackInvalid as exc:
        lines = [f"{path}: paket DITOLAK"] + [f"  baris {line}: {reason}" for line, reason in exc.problems]
        raise CommandFailed(Text("\n".join(lines), style="red")) from exc


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandFailed(Text(f"{option}: tanggal harus YYYY-MM-DD, bukan {value!r}", style="red")) from exc


def database_url(settings: Settings) -> str:
    """LENTUR_DATABASE_URL, or the database of a `lentur up` running in this directory."""
    if settings.database_url:
        return settings.database_url
    stack = settings.state_dir / "stack.json"
    if stack.exists():
        url = json.loads(stack.read_text(encoding="utf-8")).get("database_url")
        if url:
            return str(url)
    raise CommandFailed(
        Text("LENTUR_DATABASE_URL belum diisi dan tidak ada `lentur up` di direktori ini.", style="red")
    )


def simulate_command(
    settings: Settings,
    console: Console,
    *,
    draft_path: Path,
    start: str,
    end: str,
    json_path: Path | None,
    region: str | None,
    up_to_position: int | None,
    limit: int,
) -> dict[str, Any]:
    from eventstore.db import create_pool

    draft = read_pack(draft_path)
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if last < first:
        raise CommandFailed(Text("--to sebelum --from", style="red"))
    spec = SimulationSpec(
        draft=draft,
        period=Period(first, last),
        regions=scope_for(draft, region),
        up_to_position=up_to_position,
    )
    url = database_url(settings)

    async def run() -> dict[str, Any]:
        pool = await create_pool(url, min_size=1, max_size=2, application_name="lentur-whatif")
        try:
            return await simulate(pool, spec, database_url=url)
        finally:
            await pool.close()

    try:
        report = asyncio.run(run())
    except DraftConflict as exc:
        raise CommandFailed(Text(f"Draf tidak dapat diberlakukan: {exc}", style="red")) from exc
    if json_path is not None:
        json_path.write_bytes(report_bytes(report) + b"\n")
    console.print(render_simulation(report, limit=limit))
    if json_path is not None:
        console.print(f"Laporan lengkap (JSON): {json_path}")
    return report


def diff_command(console: Console, *, a_path: Path, b_path: Path, as_json: bool) -> dict[str, Any]:
    diff = diff_packs(read_pack(a_path), read_pack(b_path))
    if as_json:
        console.file.write(json.dumps(diff, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    else:
        console.print(render_diff(diff))
    return diff
