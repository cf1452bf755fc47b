"""`lentur up --demo` prints the demo accounts so that every NIP can be copied whole, whatever the width."""

from __future__ import annotations

import pytest
from rich.console import Console

from deploy.up import print_demo_logins
from policy.directory import parse_directory_csv
from tests.stack import SAMPLE_DIRECTORY


def _logins() -> list[dict[str, str | None]]:
    """One account per region and role from the sample directory, as `demo_logins` reads them."""
    seen: dict[tuple[str, str], dict[str, str | None]] = {}
    for person in parse_directory_csv(SAMPLE_DIRECTORY.read_text(encoding="utf-8")):
        for role in [str(r) for r in person.roles] or ["asn"]:
            seen.setdefault(
                (person.region, role),
                {
                    "region": person.region,
                    "role": role,
                    "nip": person.nip,
                    "name": person.name,
                    "unit_code": person.unit_code,
                },
            )
    return list(seen.values())


@pytest.mark.parametrize("width", [200, 80, 70, 60, 40, 24])
def test_every_nip_is_printed_whole(width: int) -> None:
    logins = _logins()
    console = Console(width=width, record=True, color_system=None)
    print_demo_logins(console, logins)
    text = console.export_text()
    assert len(logins) > 10
    missing = [row["nip"] for row in logins if row["nip"] not in text]
    assert missing == [], text
    assert "…" not in text
