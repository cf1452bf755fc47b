"""Helpers shared by the portal's HTTP and browser tests: sign in through the pages, read form tokens, the
browser session, and the portal's pages as each role opens them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ARTIFACTS
from tests.stack import RunningStack

CHROMIUM = Path("/usr/bin/chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ARTIFACTS / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def portal_client(stack: RunningStack, nip: str) -> httpx.AsyncClient:
    """A browser-like client signed in through /masuk (cookies, no Bearer header)."""
    client = httpx.AsyncClient(base_url=stack.base_url, timeout=60, follow_redirects=False)
    page = await client.get("/masuk")
    assert page.status_code == 200, page.text
    r = await client.post("/masuk", data={"nip": nip, "csrf_token": csrf_from(page.text), "lanjut": "/"})
    assert r.status_code == 303, r.text
    return client


async def token_of(client: httpx.AsyncClient, path: str = "/") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


# Who the portal's pages are tried as (Kendari, from the sample directory), and every page each may open.
ROLES = {
    "asn": "199505042021012163",  # Putri Teguh, DISHUB-U1
    "unit_head": "197506201999081160",  # Indah Sari, DISHUB-U1
    "ppk": "198609222008011156",  # Citra Kurnia, Wali Kota
    "inspector": "199412172016012157",  # Eka Andi, Inspektorat
    "admin": "199702202019041158",  # Rahmat Joko, BKPSDM
}
PUBLIC_PAGES = ("/masuk", "/papan/publik?wilayah=kendari&tanggal=2025-12-29")
EVERYONE = ("/", "/pengajuan", "/pengajuan/saya", "/pemberitahuan", "/kewajiban", "/papan?tanggal=2025-12-29")
ROLE_PAGES = {
    "asn": (*EVERYONE, "/pengajuan/{request_id}"),
    "unit_head": (*EVERYONE, "/kotak-masuk", "/pengajuan/{request_id}"),
    "ppk": (*EVERYONE, "/kotak-masuk"),
    "inspector": (*EVERYONE, "/audit", "/audit/pengajuan/{request_id}"),
    "admin": (*EVERYONE, "/admin/pengiriman", "/kebijakan/simulasi", "/audit"),
}


def pages_of(role: str, request_id: str) -> list[str]:
    return [page.format(request_id=request_id) for page in ROLE_PAGES[role]]


class Session:
    """One person's browser tab, collecting anything the page's CSP or scripts complain about."""

    def __init__(self, stack: RunningStack, context: object, page: object) -> None:
        self.stack = stack
        self.context = context
        self.page = page
        self.problems: list[str] = []
        self.expected: list[str] = []  # statuses a test provokes on purpose, e.g. "422" for a refused form
        page.on("console", self._console)  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: self.problems.append(str(e)))  # type: ignore[attr-defined]
        page.on(  # type: ignore[attr-defined]
            "response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"{message.text} ({message.location.get('url')})")

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]

    async def close(self) -> None:
        unexpected = [p for p in self.problems if not any(e in p for e in self.expected)]
        assert unexpected == [], unexpected  # e.g. a CSP violation from an inline script or style, or a 404
        await self.context.close()  # type: ignore[attr-defined]


async def sign_in(stack: RunningStack, browser: object, nip: str, *, shot: str | None = None, **ctx: object) -> Session:
    context = await browser.new_context(base_url=stack.base_url, locale="id-ID", **ctx)  # type: ignore[attr-defined]
    page = await context.new_page()
    session = Session(stack, context, page)
    await page.goto("/masuk")
    await page.select_option("#nip", nip)
    if shot:
        await session.shot(shot)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(re.compile(r"/$"))
    return session
