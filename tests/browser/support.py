"""Helpers shared by the portal's HTTP and browser tests: sign in through the pages, read form tokens."""

from __future__ import annotations

import re

import httpx

from tests.stack import RunningStack

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
