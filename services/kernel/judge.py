"""Gathers what the pure policy evaluator needs (directory, usage, the packs in force) and asks it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts.api import SubmitRequestIn
from contracts.common import PolicyRef
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft
from policy.evaluator import evaluate
from services.kernel.container import Container
from services.kernel.problems import Problem


async def judge(
    c: Container,
    person: Person,
    body: SubmitRequestIn,
    pinned: dict[str, Any] | None = None,
    resubmitting: UUID | None = None,
    attachments: int | None = None,
) -> Evaluation:
    """Evaluate a draft; a resubmitted request stays under the pack it was first judged by (`pinned`) and its
    own earlier version does not count against it (`resubmitting`)."""
    directory = await c.reads.directory()
    usage = await c.reads.usage_for(person, list(body.dates), excluding=resubmitting)
    draft = RequestDraft(
        kind=body.kind,
        dates=body.dates,
        location=body.location,
        reason=body.reason,
        work_plan=body.work_plan,
        travel_purpose=body.travel_purpose,
        attachments=len(body.attachments) if attachments is None else attachments,
        extra_days=body.leave.extra_days if body.leave is not None and body.leave.remote_place else 0,
    )
    try:
        return evaluate(
            packs=await c.policy.packs(),
            requester=person,
            draft=draft,
            directory=directory,
            usage=usage,
            today=c.clock.now(),
            pinned=PolicyRef.model_validate(pinned) if pinned else None,
        )
    except LookupError as exc:
        raise Problem(409, "pack_unavailable", f"Paket kebijakan pengajuan ini tidak tersedia: {exc}") from exc
