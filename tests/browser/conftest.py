"""One Chromium per test module, driven by Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, SHOTS


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
