"""Gathers what the pure policy evaluator needs (directory, usage, today in the region's zone) and asks it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from contracts.api import SubmitRequestIn
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft
from policy import interim
from services.container import Container

_INTERIM_ZONES = {"pesisir-barat": "Asia/Jakarta"}


async def judge(
    c: Container, person: Person, body: SubmitRequestIn, pinned: dict[str, Any] | None = None
) -> Evaluation:
    directory = await c.reads.directory()
    usage = await c.reads.usage_for(person, list(body.dates))
    draft = RequestDraft(
        kind=body.kind, dates=body.dates, location=body.location, reason=body.reason, work_plan=body.work_plan
    )
    zone = ZoneInfo(_INTERIM_ZONES.get(person.region, "Asia/Makassar"))
    today = c.clock.now().astimezone(zone).date()
    return interim.evaluate(packs=c.packs, requester=person, draft=draft, directory=directory, usage=usage, today=today)
