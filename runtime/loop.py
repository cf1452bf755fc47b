"""The event loop the long-running components (API, worker, projector) and the bench run on.

uvloop's transports and scheduler are C: a socket read or write, a callback or a future costs a fraction of
what pure-Python asyncio charges, and those are most of what these processes do between our own lines (at
concurrency 20 the selector transport's `write` alone was a sixth of the API's and the projector's CPU).
Without uvloop (it does not build on Windows) the standard loop runs the same code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency wherever it builds
        return asyncio.run(main)
    return uvloop.run(main)
