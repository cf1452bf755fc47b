"""As-of replay over the live store (the pure fold and the explanations are in replay.py)."""

from __future__ import annotations

import gc
from datetime import datetime
from uuid import UUID

from contracts.events import EventEnvelope, request_stream
from eventstore.scan import scan_envelopes
from eventstore.store import PostgresEventStore
from services.approvals.state import ApprovalState
from services.audit.replay import Replay, RequestStory, explain_request, fold_until
from services.audit.service import position_at


async def cut_position(store: PostgresEventStore, *, as_of: datetime | None, position: int | None) -> int:
    head = await store.head_position()
    if position is not None:
        return min(position, head)
    if as_of is not None:
        return await position_at(store.pool, as_of)
    return head


async def replay_store(
    store: PostgresEventStore, *, as_of: datetime | None = None, position: int | None = None
) -> Replay:
    """The whole approval state as it stood at `as_of` (or after `position`), from the events alone."""
    cut = await cut_position(store, as_of=as_of, position=position)
    replay = Replay(state=ApprovalState(), as_of=as_of)
    collecting = gc.isenabled()
    gc.disable()  # a fold allocates and keeps everything; collecting would only rescan it (see rebuild)
    try:
        async for events in scan_envelopes(store.pool, up_to=cut):
            fold_until(events, replay=replay)
    finally:
        if collecting:
            gc.enable()
    replay.position = cut
    return replay


async def replay_request(
    store: PostgresEventStore, request_id: UUID, *, as_of: datetime | None = None, position: int | None = None
) -> tuple[Replay, RequestStory | None]:
    """One request as it stood then, explained.

    A request's row depends on its own stream only, and the names on the directory imports, so folding
    just those events gives the same row (and the same names) as folding the whole log up to the cut.
    """
    cut = await cut_position(store, as_of=as_of, position=position)
    stream = request_stream(request_id)
    replay = Replay(state=ApprovalState(), as_of=as_of)
    own: list[EventEnvelope] = []
    async for events in scan_envelopes(
        store.pool, up_to=cut, where="type = 'DirectoryImported' OR stream_id = $3", args=(stream,)
    ):
        fold_until(events, replay=replay)
        own.extend(e for e in events if e.stream_id == stream)
    replay.position = cut
    return replay, explain_request(replay.state, own)
