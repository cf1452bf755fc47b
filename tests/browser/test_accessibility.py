"""Every portal page, as each role, on a desktop and on a 390 px phone, checked by axe-core against the WCAG
2.1 A and AA rules in Chromium. axe-core comes from its npm package (`npm install --prefix .cache/axe-core
axe-core@4`, which `python3 tools/dev.py test` runs when it is missing); one browser, one tab per role and
width, reused from page to page."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import NEEDS_CHROMIUM, PHONE, PUBLIC_PAGES, ROLES, pages_of, sign_in
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

ROOT = Path(__file__).resolve().parents[2]
AXE_PREFIX = ROOT / ".cache" / "axe-core"
AXE_JS = Path(os.environ.get("LENTUR_AXE_JS", AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"))
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"desktop": {"viewport": {"width": 1280, "height": 900}}, "ponsel": PHONE}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        if shutil.which("npm") is None:
            pytest.skip("axe-core is missing and so is npm (npm install --prefix .cache/axe-core axe-core@4)")
        subprocess.run(["npm", "install", "--prefix", str(AXE_PREFIX), "--no-save", "axe-core@4"], check=True)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


@pytest.fixture(scope="module")
async def request_id(stack: RunningStack) -> str:
    """Something on every page: a pending WFH request with a task in the unit head's inbox, on the board."""
    async with await stack.as_user(ROLES["asn"]) as asn:
        r = await asn.post(
            "/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Menjaga anak yang sakit"}
        )
        assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _violations(page: object, axe: str) -> list[str]:
    """axe-core in the page as loaded (evaluated through the DevTools protocol, so the page's CSP stays as
    it is); one readable line per rule and node."""
    await page.evaluate(axe)  # type: ignore[attr-defined]
    found = await page.evaluate(  # type: ignore[attr-defined]
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))",
        WCAG_21_AA,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} — {node}" for v in found for node in v["nodes"]]


@pytest.mark.parametrize("width", WIDTHS)
async def test_every_page_passes_wcag_21_aa(
    stack: RunningStack, browser: object, axe_source: str, request_id: str, width: str
) -> None:
    report: list[str] = []
    anonymous = await browser.new_context(base_url=stack.base_url, locale="id-ID", **WIDTHS[width])  # type: ignore[attr-defined]
    page = await anonymous.new_page()
    for path in PUBLIC_PAGES:
        await page.goto(path)
        report += [f"{width} tamu {path}: {v}" for v in await _violations(page, axe_source)]
    await anonymous.close()
    checked = len(PUBLIC_PAGES)
    for role, nip in ROLES.items():
        session = await sign_in(stack, browser, nip, **WIDTHS[width])
        session.expected.append("403")  # a page this role may not open answers with a page saying so
        for path in pages_of(role, request_id):
            response = await session.page.goto(path)  # type: ignore[attr-defined]
            assert response is not None and response.status < 500, f"{role} {path}: {response and response.status}"
            report += [f"{width} {role} {path}: {v}" for v in await _violations(session.page, axe_source)]
            checked += 1
        await session.close()
    assert checked >= 12 * len(ROLES) // 2
    assert report == [], "WCAG 2.1 AA violations:\n" + "\n".join(report)
