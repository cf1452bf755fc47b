"""Inspector endpoints: a request's stream with hashes, search, verification, checkpoints, export, replay.

Only inspectors and admins read the log, only their own region's records, and every read is itself
appended to the log (`AuditAccessed`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from contracts.api import (
    AuditEventOut,
    AuditIndexItemOut,
    AuditKeyOut,
    CheckpointOut,
    ReplayOut,
    ReplayRequestOut,
    VerifyOut,
)
from contracts.events import request_stream
from services.audit.access import (
    parse_moment,
    record_access,
    region_zone,
    require_auditor,
    search_index,
)
from services.audit.checkpoints import ChainBroken, sign_checkpoint
from services.audit.export import EmptyRange, ExportScope, export_bundle
from services.audit.replay import local_time, request_summaries
from services.audit.service import position_at, verify_store
from services.audit.signing import trusted_keys_from_settings
from services.audit.store_replay import replay_request, replay_store
from services.audit.verify import VerifyReport, verify_stream
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.deps import ContainerDep, PrincipalDep
from services.kernel.problems import Problem

router = APIRouter(prefix="/api/audit", tags=["audit"])
_TICK = datetime.resolution  # "from a moment" starts after the last event strictly before it


def _trusted(c: Container) -> dict[str, str]:
    extra = (c.signer.public_key,) if c.signer is not None else ()
    return trusted_keys_from_settings(c.settings, *extra)


async def _request_region(c: Container, request_id: UUID) -> str | None:
    row = await c.reads.request(request_id)
    if row is not None:
        return str(row["region"])
    first = await c.store.read_stream(request_stream(request_id))
    return first[0].payload.get("region") if first else None


async def request_events(request_id: UUID, c: Container, me: Principal) -> list[AuditEventOut]:
    """The request's stream, in order, with every hash an inspector needs to check it (the portal's
    inspector page reads it through here too, so its reads are on record as well)."""
    require_auditor(me)
    events = await c.store.read_stream(request_stream(request_id))
    if not events:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if await _request_region(c, request_id) != me.region:
        raise Problem(403, "region_forbidden", "Pengajuan ini milik pemerintah daerah lain.")
    await record_access(c, me, "request", request_id=request_id, results=len(events))
    return [AuditEventOut(**e.model_dump()) for e in events]


@router.get("/requests/{request_id}", response_model=list[AuditEventOut])
async def request_stream_events(
    request_id: UUID, c: ContainerDep, me: PrincipalDep, response: Response
) -> list[AuditEventOut]:
    """The stream with hashes; `X-Stream-Verified` says whether its own hashes and links recompute."""
    events = await request_events(request_id, c, me)
    ok, bad, _ = verify_stream(e.model_dump() for e in events)
    response.headers["X-Stream-Verified"] = "true" if ok else "false"
    if bad is not None:
        response.headers["X-First-Bad-Position"] = str(bad)
    return events


@router.get("/search", response_model=list[AuditIndexItemOut])
async def search(
    c: ContainerDep,
    me: PrincipalDep,
    response: Response,
    nip: Annotated[str | None, Query(max_length=32, description="person concerned, actor or acted-for")] = None,
    opd: Annotated[str | None, Query(max_length=64)] = None,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD (local day) or ISO time")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or ISO time")] = None,
    type: Annotated[str | None, Query(max_length=64, description="event type")] = None,
    request_id: UUID | None = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditIndexItemOut]:
    """The region's index, oldest first; when `X-Next-After` is set, pass it as `after` for the next page."""
    require_auditor(me)
    zone = await region_zone(c.pool, me.region)
    start = parse_moment(from_, zone) if from_ else None
    end = parse_moment(to, zone, end_of_day=True) if to else None
    rows = await search_index(
        c.pool,
        region=me.region,
        nip=nip,
        opd=opd,
        start=start,
        end=end,
        event_type=type,
        request_id=request_id,
        after=after,
        limit=limit,
    )
    items = [
        AuditIndexItemOut(
            **{k: r[k] for k in AuditIndexItemOut.model_fields if k != "occurred_at_local"},
            occurred_at_local=local_time(r["occurred_at"], r["timezone"] or zone),
        )
        for r in rows
    ]
    query = {"nip": nip, "opd": opd, "from": from_, "to": to, "type": type, "request_id": request_id}
    await record_access(c, me, "search", query=query, results=len(items))
    response.headers["X-Total-Count"] = str(len(items))
    if len(items) == limit:
        response.headers["X-Next-After"] = str(items[-1].position)
    return items


async def verify_for(c: Container, me: Principal) -> VerifyReport:
    """An inspector's verification: signers checked against the trusted keys, and the read itself recorded."""
    require_auditor(me)
    report = await verify_store(c.pool, trusted_keys=_trusted(c))
    await record_access(c, me, "verify", results=report.events_checked)
    return report


@router.get("/verify", response_model=VerifyOut)
async def verify(c: ContainerDep, me: PrincipalDep) -> VerifyOut:
    return VerifyOut(**(await verify_for(c, me)).as_dict())


@router.get("/keys", response_model=list[AuditKeyOut])
async def keys(c: ContainerDep) -> list[AuditKeyOut]:
    """The public keys checkpoints are signed with (public by nature; inspectors pin them)."""
    signing = c.signer.key_id if c.signer is not None else None
    return [AuditKeyOut(key_id=k, public_key=v, signing=k == signing) for k, v in sorted(_trusted(c).items())]


@router.post("/checkpoints", response_model=CheckpointOut, status_code=201)
async def checkpoint(c: ContainerDep, me: PrincipalDep) -> CheckpointOut:
    require_auditor(me)
    if c.signer is None:
        raise Problem(503, "no_signing_key", "Kunci penanda tangan audit belum dikonfigurasi.")
    try:
        signed = await sign_checkpoint(c.store, c.signer, c.clock, actor=me.nip)
    except ChainBroken as broken:
        raise Problem(
            409,
            "chain_broken",
            "Rantai hash rusak; checkpoint tidak ditandatangani.",
            first_bad_position=broken.report.first_bad_position,
            reason=broken.report.reason,
        ) from broken
    if signed is None:
        raise Problem(409, "empty_log", "Log masih kosong; belum ada yang ditandatangani.")
    return CheckpointOut(**signed.as_dict())


def _position_param(value: str | None, zone: str, *, end: bool) -> int | datetime | None:
    if value is None or value == "":
        return None
    if value.isdigit():
        return int(value)
    return parse_moment(value, zone, end_of_day=end)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "a bundle `lentur audit verify --bundle` checks"}
    },
)
async def export(
    c: ContainerDep,
    me: PrincipalDep,
    from_: Annotated[str | None, Query(alias="from", description="position, YYYY-MM-DD or ISO time")] = None,
    to: Annotated[str | None, Query(description="position, YYYY-MM-DD (inclusive) or ISO time")] = None,
) -> StreamingResponse:
    require_auditor(me)
    zone = await region_zone(c.pool, me.region)
    first = _position_param(from_, zone, end=False)
    last = _position_param(to, zone, end=True)
    if isinstance(first, int) and isinstance(last, int) and first > last:
        raise Problem(422, "invalid_range", "`from` harus sebelum atau sama dengan `to`.")
    if isinstance(first, datetime):
        first = await position_at(c.pool, first - _TICK) + 1
    if isinstance(last, datetime):
        last = await position_at(c.pool, last)
    # Index regions decide what this region may see in full: let the projection reach the range first.
    await c.waiter.wait_for(last if last is not None else await c.store.head_position(), timeout=5.0)
    name = f"lentur-audit-{me.region}-{first or 1}-{last or 'kepala'}.zip"
    handle, path = tempfile.mkstemp(suffix=".zip")
    try:
        with os.fdopen(handle, "w+b") as target:
            manifest = await export_bundle(
                c.store,
                target,
                first=first,
                last=last,
                scope=ExportScope(region=me.region),
                clock=c.clock,
                signer=c.signer,
                exported_by=me.nip,
                file_name=name,
            )
    except EmptyRange as empty:
        os.unlink(path)
        raise Problem(404, "empty_range", str(empty)) from empty
    except BaseException:
        os.unlink(path)
        raise
    await record_access(
        c,
        me,
        "export",
        query={"from": manifest["range"]["from"], "to": manifest["range"]["to"]},
        results=manifest["events"]["count"],
    )

    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Lentur-Range": f"{manifest['range']['from']}-{manifest['range']['to']}",
        "Content-Length": str(os.path.getsize(path)),
    }
    if "chain_broken" in manifest:  # the bundle is the evidence; no checkpoint was signed over it
        headers["X-Chain-Broken-At"] = str(manifest["chain_broken"]["first_bad_position"])
    return StreamingResponse(chunks(), media_type="application/zip", headers=headers)


@router.get("/replay", response_model=ReplayOut)
async def replay(
    c: ContainerDep,
    me: PrincipalDep,
    as_of: Annotated[str | None, Query(description="ISO time (local when without offset) or YYYY-MM-DD")] = None,
    request_id: UUID | None = None,
    position: Annotated[int | None, Query(ge=0, description="replay up to this position instead")] = None,
) -> ReplayOut:
    require_auditor(me)
    zone = await region_zone(c.pool, me.region)
    moment = parse_moment(as_of, zone, end_of_day=True) if as_of else None
    if request_id is not None:
        if await _request_region(c, request_id) != me.region:
            raise Problem(403, "region_forbidden", "Pengajuan ini milik pemerintah daerah lain.")
        result, story = await replay_request(c.store, request_id, as_of=moment, position=position)
        if story is None:
            raise Problem(404, "request_not_found", "Pengajuan belum ada pada saat itu.")
        await record_access(c, me, "replay", request_id=request_id, query={"as_of": as_of, "position": position})
        return ReplayOut(
            as_of=moment,
            position=result.position,
            events=result.events,
            request=ReplayRequestOut(**story.as_dict()),
        )
    result = await replay_store(c.store, as_of=moment, position=position)
    summaries = request_summaries(result.state, region=me.region)
    await record_access(c, me, "replay", query={"as_of": as_of, "position": position}, results=len(summaries))
    return ReplayOut(as_of=moment, position=result.position, events=result.events, requests=summaries)
