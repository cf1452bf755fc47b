"""Which policy packs are in force: every pack text published as an event, newest version per pack id."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from contracts.events import PolicyPackPublished
from eventstore.store import AppendUnit, NewEvent, PostgresEventStore
from policy.bundled import bundled_pack_texts
from policy.packs import LoadedPack, PackSet, load_pack
from runtime.clock import Clock

log = structlog.get_logger(__name__)


class PackVersionConflict(Exception):
    pass


def pack_stream(pack_id: str) -> str:
    return f"policy-{pack_id}"


class PolicyRegistry:
    """Packs as the read model shows them; re-read only when a new pack has been published."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._cache: tuple[int, PackSet] | None = None
        self._lock = asyncio.Lock()

    async def packs(self) -> PackSet:
        position = int(await self.pool.fetchval("SELECT coalesce(max(position), 0) FROM rm_policy_packs"))
        if self._cache is not None and self._cache[0] == position:
            return self._cache[1]
        async with self._lock:
            rows = await self.pool.fetch("SELECT text FROM rm_policy_packs ORDER BY position")
            texts = [r["text"] for r in rows] or list(bundled_pack_texts().values())
            packs = PackSet(load_pack(t) for t in texts)
            self._cache = (position, packs)
            return packs

    async def regions(self) -> set[str]:
        return {p.pack.region for p in await self.packs() if p.pack.region}


@dataclass(frozen=True)
class Published:
    pack: LoadedPack
    position: int | None

    @property
    def unchanged(self) -> bool:
        return self.position is None


async def publish_pack(
    store: PostgresEventStore, clock: Clock, text: str, *, actor: str, correlation_id: str | None = None
) -> Published:
    """Record a pack text as PolicyPackPublished; a no-op when that exact text is already published."""
    loaded = load_pack(text)
    stream = pack_stream(loaded.id)
    history = await store.read_stream(stream)
    for event in history:
        if event.payload["sha256"] == loaded.sha256:
            return Published(loaded, None)
        if event.payload["version"] == loaded.version:
            raise PackVersionConflict(
                f"paket {loaded.id} versi {loaded.version} sudah diterbitkan dengan isi berbeda; naikkan versinya"
            )
    payload = PolicyPackPublished(
        pack_id=loaded.id, version=loaded.version, sha256=loaded.sha256, region=loaded.pack.region, text=loaded.text
    )
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=clock.now(),
        actor=actor,
        correlation_id=correlation_id or uuid.uuid4().hex,
        policy=loaded.ref,
        clock=clock.mode,
    )
    appended = await store.append(AppendUnit([event], {stream: len(history)}))
    log.info("policy_pack_published", pack=loaded.id, version=loaded.version, sha256=loaded.sha256)
    return Published(loaded, appended[-1].position)


async def publish_bundled_packs(store: PostgresEventStore, clock: Clock) -> list[dict[str, Any]]:
    outcomes = []
    for name, text in bundled_pack_texts().items():
        published = await publish_pack(store, clock, text, actor="system")
        outcomes.append(
            {
                "file": name,
                "id": published.pack.id,
                "version": published.pack.version,
                "published": not published.unchanged,
            }
        )
    return outcomes
