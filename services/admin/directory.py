"""Importing the org directory: all-or-nothing, row-numbered errors, a no-op when nothing changed."""

from __future__ import annotations

import uuid

import structlog

from contracts.api import DirectoryImportOut
from contracts.directory import Person
from contracts.events import DirectoryImported
from eventstore.store import AppendUnit, NewEvent
from policy.directory import DirectoryInvalid, directory_sha256, parse_directory_csv
from services.kernel.container import Container
from services.kernel.problems import Problem
from services.kernel.readmodels import person_from_row

log = structlog.get_logger(__name__)
DIRECTORY_STREAM = "directory"


async def import_directory(
    c: Container, text: str, *, actor: str, allowed_regions: set[str] | None = None
) -> DirectoryImportOut:
    try:
        people = parse_directory_csv(text, known_regions=await c.policy.regions(), today=c.clock.now().date())
    except DirectoryInvalid as invalid:
        raise Problem(
            422,
            "directory_invalid",
            f"Impor ditolak; tidak ada yang disimpan. {len(invalid.errors)} baris bermasalah.",
            errors=[{"row": e.row, "nip": e.nip, "reason": e.reason} for e in invalid.errors],
        ) from invalid
    if not people:
        raise Problem(422, "directory_empty", "Berkas direktori tidak berisi pegawai.")
    file_rows = len(people)
    regions = sorted({p.region for p in people})
    current_rows = await c.pool.fetch("SELECT * FROM rm_people WHERE region = ANY($1::text[])", regions)
    current: dict[str, Person] = {r["nip"]: person_from_row(r) for r in current_rows}
    sha = directory_sha256(people)
    # Only regions whose staff actually differ are written; re-importing the same file changes nothing.
    changed_regions = {
        region
        for region in regions
        if directory_sha256(p for p in people if p.region == region)
        != directory_sha256(p for p in current.values() if p.region == region)
    }
    if not changed_regions:
        return DirectoryImportOut(sha256=sha, rows=file_rows, added=0, changed=0, removed=0, unchanged=True)
    if allowed_regions is not None and not changed_regions <= allowed_regions:
        foreign = sorted(changed_regions - allowed_regions)
        raise Problem(
            403,
            "region_forbidden",
            f"Anda hanya dapat mengubah pegawai wilayah sendiri; berkas mengubah: {', '.join(foreign)}.",
        )
    people = tuple(p for p in people if p.region in changed_regions)
    current = {nip: p for nip, p in current.items() if p.region in changed_regions}
    incoming = {p.nip: p for p in people}
    added = sorted(set(incoming) - set(current))
    removed = sorted(set(current) - set(incoming))
    changed = sorted(n for n in set(incoming) & set(current) if incoming[n] != current[n])
    payload = DirectoryImported(
        sha256=sha,
        rows=len(people),
        people=[p.model_dump(mode="json") for p in people],
        added=added,
        changed=changed,
        removed=removed,
    )
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=DIRECTORY_STREAM,
        occurred_at=c.clock.now(),
        actor=actor,
        correlation_id=str(structlog.contextvars.get_contextvars().get("correlation_id") or uuid.uuid4().hex),
        clock=c.clock.mode,
    )
    appended = await c.store.append(AppendUnit([event]))
    position = appended[-1].position
    await c.waiter.wait_for(position, timeout=c.settings.read_your_writes_timeout_seconds)
    log.info("directory_imported", rows=len(people), added=len(added), changed=len(changed), removed=len(removed))
    return DirectoryImportOut(
        sha256=sha,
        rows=file_rows,
        added=len(added),
        changed=len(changed),
        removed=len(removed),
        unchanged=False,
        position=position,
    )
