"""Exporting a range of the log as a self-contained bundle (format and offline checks in bundle.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import asyncpg

from contracts.canonical import loads
from eventstore.scan import VERIFY_COLUMNS, scan
from eventstore.store import PostgresEventStore
from runtime.clock import Clock
from services.audit.bundle import BundleWriter, PackText, skeleton
from services.audit.checkpoints import ChainBroken, sign_checkpoint
from services.audit.signing import CheckpointSigner, key_id_of
from services.audit.verify import CHECKPOINT_TYPE

# Events whose content is public whatever region asks: they name no person.
_PUBLIC_TYPES = frozenset({CHECKPOINT_TYPE, "PolicyPackPublished"})


class EmptyRange(Exception):
    pass


@dataclass(frozen=True)
class ExportScope:
    """Which events an exporter may see in full: all (`region` None, the operator's CLI) or one region's."""

    region: str | None = None

    def shows(self, event: Mapping[str, Any], indexed_region: str | None) -> bool:
        if self.region is None or event["type"] in _PUBLIC_TYPES:
            return True
        if event["type"] == "DirectoryImported":
            return {p.get("region") for p in event["payload"].get("people", [])} == {self.region}
        return indexed_region == self.region


def _event_out(r: asyncpg.Record) -> dict[str, Any]:
    """A row in VERIFY_COLUMNS order, as a bundle line (the stored values, timestamps as hashed)."""
    row = dict(r)
    row["payload"] = loads(row["payload"])
    if row["policy"] is not None:
        row["policy"] = loads(row["policy"])
    return row


async def _anchors(pool: asyncpg.Pool, first: int, last: int) -> tuple[int, int]:
    """(start, end): the bundle covers (start, end] so that checkpoints sign both ends of [first, last]."""
    before = await pool.fetchrow(
        "SELECT position, (payload->>'up_to_position')::bigint AS up_to FROM events "
        "WHERE type = 'CheckpointSigned' AND (payload->>'up_to_position')::bigint < $1 "
        "ORDER BY (payload->>'up_to_position')::bigint DESC, position LIMIT 1",
        first,
    )
    after = await pool.fetchrow(
        "SELECT position FROM events WHERE type = 'CheckpointSigned' "
        "AND (payload->>'up_to_position')::bigint >= $1 ORDER BY position LIMIT 1",
        last,
    )
    start = int(before["up_to"]) if before else 0
    end = last
    if before is not None:
        end = max(end, int(before["position"]))
    if after is not None:
        end = max(end, int(after["position"]))
    return start, end


async def _packs(pool: asyncpg.Pool, referenced: set[tuple[str, str, str]]) -> list[PackText]:
    if not referenced:
        return []
    rows = await pool.fetch(
        "SELECT pack_id, version, sha256, text FROM rm_policy_packs "
        "WHERE (pack_id, version) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [r[0] for r in referenced],
        [r[1] for r in referenced],
    )
    return [
        PackText(pack_id=r["pack_id"], version=r["version"], sha256=r["sha256"], text=r["text"])
        for r in rows
        if (r["pack_id"], r["version"], r["sha256"]) in referenced
    ]


async def export_bundle(
    store: PostgresEventStore,
    target: IO[bytes],
    *,
    first: int | None,
    last: int | None,
    scope: ExportScope,
    clock: Clock,
    signer: CheckpointSigner | None,
    exported_by: str | None,
    file_name: str = "bundel.zip",
    sign_end: bool = True,
) -> dict[str, Any]:
    """Write the bundle for positions [first, last]; returns its manifest.

    When no checkpoint covers `last` yet and a signer is at hand, one is signed first, so the end of the
    range is anchored too. When the chain is broken no checkpoint is signed and the bundle is written all
    the same, as stored: it is the evidence, and offline verification fails at the broken event. The
    manifest then names what the refused checkpoint found (`chain_broken`).
    """
    pool = store.pool
    refused: dict[str, Any] | None = None
    head = await store.head_position()
    first = max(1, first or 1)
    last = min(head, last if last is not None else head)
    if head == 0 or first > last:
        raise EmptyRange(f"tidak ada peristiwa di rentang {first}..{last} (kepala log: {head})")
    if signer is not None and sign_end:
        covered = await pool.fetchval(
            "SELECT 1 FROM events WHERE type = 'CheckpointSigned' AND (payload->>'up_to_position')::bigint >= $1",
            last,
        )
        if not covered:
            try:
                await sign_checkpoint(store, signer, clock, actor=exported_by or "system")
            except ChainBroken as broken:
                refused = {"first_bad_position": broken.report.first_bad_position, "reason": broken.report.reason}
    start, end = await _anchors(pool, first, last)
    start_chain = await pool.fetchval("SELECT chain_hash FROM events WHERE position = $1", start) if start else None
    regions: dict[int, str | None] = {}
    if scope.region is not None:
        rows = await pool.fetch(
            "SELECT position, region FROM rm_audit_index WHERE position > $1 AND position <= $2", start, end
        )
        regions = {r["position"]: r["region"] for r in rows}

    writer = BundleWriter(target)
    referenced: set[tuple[str, str, str]] = set()
    keys: dict[str, str] = {}
    if signer is not None:
        keys[signer.key_id] = signer.public_key
    async for rows in scan(pool, VERIFY_COLUMNS, after=start, up_to=end):
        out = []
        for r in rows:
            event = _event_out(r)
            position = event["position"]
            in_range = first <= position <= last
            if event["type"] == CHECKPOINT_TYPE:
                keys[key_id_of(event["payload"]["public_key"])] = event["payload"]["public_key"]
            if (in_range or event["type"] == CHECKPOINT_TYPE) and scope.shows(event, regions.get(position)):
                out.append(event)
                policy = event["policy"]
                if policy:
                    referenced.add((policy["id"], policy["version"], policy["sha256"]))
            else:
                out.append(skeleton(event))
        writer.add(out)
    head_chain = await pool.fetchval("SELECT chain_hash FROM events WHERE position = $1", end)
    manifest = {
        "file_name": file_name,
        "created_at": clock.now(),
        "clock": clock.mode,
        "exported_by": exported_by,
        "region": scope.region,
        "range": {"from": first, "to": last},
        "anchor": {"start_position": start, "start_chain_hash": start_chain, "end_position": end},
        "head_at_export": {"position": end, "chain_hash": head_chain},
    }
    if refused is not None:
        manifest["chain_broken"] = refused

    def sign(data: bytes) -> dict[str, str]:
        assert signer is not None
        return {"key_id": signer.key_id, "public_key": signer.public_key, "signature": signer.sign_bytes(data)}

    return writer.close(
        manifest,
        packs=await _packs(pool, referenced),
        keys=keys,
        sign=sign if signer is not None else None,
    )
