"""Old payload shapes are lifted to the current one when read; stored events are never rewritten."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.events import EVENT_TYPES, EventEnvelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event type, from schema_version) -> function returning the payload at schema_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast(event: EventEnvelope) -> EventEnvelope:
    current = EVENT_TYPES.get(event.type)
    if current is None or event.schema_version >= current.SCHEMA_VERSION:
        return event
    payload, version = dict(event.payload), event.schema_version
    while version < current.SCHEMA_VERSION:
        step = UPCASTERS.get((event.type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event.type} v{version}")
        payload, version = step(payload), version + 1
    return event.model_copy(update={"payload": payload, "schema_version": version})
