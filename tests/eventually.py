"""Waiting in tests for something that happens behind the call under test (a projection, a timer, a lock)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Any | Awaitable[Any]], timeout: float = 30.0, *, what: str = "condition", poll: float = 0.3
) -> Any:
    """`check()` (plain or async) until it returns something truthy, which is returned; fails after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s")
        await asyncio.sleep(poll)
