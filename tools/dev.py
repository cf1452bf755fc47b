#!/usr/bin/env python3
"""Set-up in one command, with nothing but Python 3.11 on the machine.

    python3 tools/dev.py demo   # install what is needed, then run `lentur up --demo`
    python3 tools/dev.py test   # install what is needed, then run lint, types, import layers and the whole test suite

Standard library only: this script runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / "bin"
SYSTEM_PACKAGES = {"/usr/bin/chromium": "chromium", "/usr/bin/pdftotext": "poppler-utils"}
AXE_PREFIX = ROOT / ".cache" / "axe-core"  # tests/browser/test_accessibility.py reads axe.min.js from here


def run(*args: str | Path, **kwargs: object) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 the machine has
        sys.exit(f"Lentur needs Python 3.11 or newer; this is {sys.version.split()[0]}")


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed since last time."""
    stamp_key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()[:16]
    stamp = VENV / f".installed-{stamp_key}"
    if stamp.exists():
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def ensure_system_packages() -> None:
    """Browser tests drive Debian's Chromium; letter tests read PDFs with poppler's pdftotext."""
    missing = sorted({pkg for path, pkg in SYSTEM_PACKAGES.items() if not Path(path).exists()})
    if not missing:
        return
    if not shutil.which("apt-get"):
        print(
            f"warning: cannot install {', '.join(missing)} (no apt-get); browser tests will be skipped",
            flush=True,
        )
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(*sudo, "apt-get", "update", "-qq", env=env)
    run(*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


def ensure_axe() -> None:
    """axe-core, the accessibility rules the browser tests run in every page, from its npm package."""
    if (AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js").exists():
        return
    if not shutil.which("npm"):
        print("warning: npm is missing; the accessibility test will be skipped", flush=True)
        return
    run("npm", "install", "--prefix", AXE_PREFIX, "--no-save", "axe-core@4")


def demo(extra_args: list[str]) -> None:
    ensure_venv("")
    os.execv(str(BIN / "lentur"), [str(BIN / "lentur"), "up", "--demo", *extra_args])


def test(extra_args: list[str]) -> None:
    ensure_venv("test,bench")
    ensure_system_packages()
    ensure_axe()
    run(BIN / "ruff", "check", ".")
    run(BIN / "mypy", "contracts", "policy", "eventstore", "runtime")
    run(BIN / "lint-imports")  # the layer contracts in pyproject.toml
    run(BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra_args)
    # Performance is reported, never asserted: the machine is shared, so figures are ratios from one run.
    run(BIN / "lentur", "bench", "--quick", "--json", "bench-results/quick.json", "--plot", "bench-results/quick.png")


def main() -> None:
    ensure_python()
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    {"demo": demo, "test": test}[command](rest)


if __name__ == "__main__":
    main()
