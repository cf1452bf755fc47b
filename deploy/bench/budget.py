"""Where an approval's time goes, per process: `python -m deploy.bench.budget [APPROVALS] [OUT.json]`.

Starts its own stack, then runs the bare workflow and the full path at concurrency 20 and reads, for each:
CPU per approval by process, the Temporal dev server's request and persistence counters (its metrics
endpoint, before and after), and for the full path every SQL statement Postgres executed (log_statement,
counted by application name). With `LENTUR_BUDGET_PYSPY=DIR` (and `pip install py-spy`) the API, worker and
projector are sampled by py-spy into DIR meanwhile, at LENTUR_BUDGET_PYSPY_RATE samples a second (50), with
their C and Rust frames too when LENTUR_BUDGET_PYSPY_NATIVE is set.
docs/bench/README.md (*The budget of one approval*) holds the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console

from deploy.bench.run import cpu_per_request, cpu_seconds
from deploy.bench.scenarios import BareCeiling, FullPath
from deploy.bench.workload import bench_directory
from deploy.up import Supervisor, UpOptions
from runtime import loop as event_loop

_COUNTERS = re.compile(r"^(persistence_requests|service_requests)\{(.*)\} ([0-9.e+]+)$")
_STATEMENT = re.compile(r"^@@([^@]*)@@ LOG:  (statement|execute [^:]*): (.*)")


def temporal_counters(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = _COUNTERS.match(line)
        if match:
            operation = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2))).get("operation", "")
            out[f"{match.group(1)}:{operation}"] += float(match.group(3))
    return out


def _spies(info: dict[str, Any], out: Path) -> list[subprocess.Popen[bytes]]:
    spy = str(Path(sys.executable).parent / "py-spy")
    rate = os.environ.get("LENTUR_BUDGET_PYSPY_RATE", "50")  # samples per second; 200 for a finer profile
    return [
        subprocess.Popen(
            [spy, "record", "--pid", str(info["pids"][name]), "-f", "raw", "-o", str(out / f"{name}.txt")]
            + ["-r", rate]
            # native frames need the process stopped while it is sampled
            + (["--native"] if os.environ.get("LENTUR_BUDGET_PYSPY_NATIVE") else ["--nonblocking"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("api", "worker", "projector")
    ]


async def measure(info: dict[str, Any], approvals: int, spy_dir: Path | None) -> dict[str, Any]:
    state_dir = Path(info["state_dir"])
    metrics_port = json.loads((state_dir / "ports.json").read_text())["temporal_metrics"]
    full = FullPath(info["http_url"], bench_directory(opds=10))
    bare = BareCeiling(info["temporal_address"])
    bare.start()
    conn = await asyncpg.connect(info["database_url"])
    result: dict[str, Any] = {"approvals": approvals}
    try:
        await full.run(4, 8)
        await bare.run(4, 8)
        await conn.execute("ALTER SYSTEM SET log_line_prefix = '@@%a@@ '")
        pids = {**info["pids"], "bench": os.getpid()}
        assert bare.proc is not None
        pids["bare_worker"] = bare.proc.pid
        for label in ("bare", "full"):
            counters, cpu = temporal_counters(metrics_port), cpu_seconds(pids)
            if label == "bare":
                figures = await bare.run(20, approvals)
            else:
                await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
                await conn.execute("SELECT pg_reload_conf()")
                await asyncio.sleep(1.0)  # the reload reaches every backend at its next command
                log = state_dir / "logs" / "postgres.log"
                start = log.stat().st_size
                spies = _spies(info, spy_dir) if spy_dir else []
                figures = await full.run(20, approvals)
                for spy in spies:
                    spy.send_signal(2)
                    spy.wait(60)
                await conn.execute("ALTER SYSTEM RESET log_statement")
                await conn.execute("SELECT pg_reload_conf()")
                with log.open("rb") as f:
                    f.seek(start)
                    lines = f.read().decode(errors="replace").splitlines()
                by_process: Counter[str] = Counter()
                by_statement: Counter[tuple[str, str]] = Counter()
                for line in lines:
                    match = _STATEMENT.match(line)
                    if match:
                        by_process[match.group(1)] += 1
                        by_statement[(match.group(1), match.group(3)[:90])] += 1
                result["sql_per_approval"] = {k: round(v / approvals, 2) for k, v in by_process.most_common()}
                result["sql_statements"] = [
                    [process, sql, round(n / approvals, 2)] for (process, sql), n in by_statement.most_common(60)
                ]
            after = temporal_counters(metrics_port)
            result[label] = {
                "throughput_per_s": figures["throughput_per_s"],
                "cpu_ms_per_request": cpu_per_request(cpu, cpu_seconds(pids), approvals),
                "temporal_per_request": {
                    k: round((after[k] - counters.get(k, 0.0)) / approvals, 2)
                    for k in after
                    if after[k] > counters.get(k, 0.0)
                },
            }
    finally:
        await conn.close()
        bare.stop()
    return result


def main() -> None:
    approvals = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    spy = os.environ.get("LENTUR_BUDGET_PYSPY")
    spy_dir = Path(spy) if spy else None
    if spy_dir:
        spy_dir.mkdir(parents=True, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="lentur-budget-")) / ".lentur"
    state_dir.mkdir(parents=True)
    directory_file = state_dir.parent / "bench-directory.csv"
    directory_file.write_text(bench_directory(opds=10).csv)
    supervisor = Supervisor(
        UpOptions(state_dir=state_dir, demo=True, directory=directory_file), console=Console(stderr=True)
    )
    try:
        info = supervisor.start()
        figures = json.dumps(event_loop.run(measure(info, approvals, spy_dir)), indent=1)
        if len(sys.argv) > 2:
            Path(sys.argv[2]).write_text(figures)  # the stack's processes log to stdout too
        else:
            print(figures)
    finally:
        supervisor.stop()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
