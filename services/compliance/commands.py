"""Duties during approved flexible days: check-ins, reports, what superiors see, and piket rosters."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import uuid
from datetime import date
from typing import Any
from uuid import UUID

import structlog

from contracts.common import Role, Tier
from contracts.evaluation import DutyWindow, Obligation
from contracts.events import ComplianceAcknowledged, PiketRosterSet
from contracts.zones import fixed_zone, zone_label
from eventstore.store import NO_STREAM, AppendUnit, ConcurrencyError, NewEvent
from policy.evaluator import piket_days
from services.compliance.models import (
    AcknowledgeIn,
    CheckInIn,
    DutyOut,
    DutyResultOut,
    PiketIn,
    PiketOut,
    ReportIn,
)
from services.kernel.auth import Principal
from services.kernel.container import Container
from services.kernel.privacy import purpose_kept_for
from services.kernel.problems import Problem
from services.kernel.readmodels import local_time
from services.kernel.temporal_errors import problem_from_update_error
from workflows.compliance.models import (
    CheckInCommand,
    ComplianceInput,
    DutyOutcome,
    ReportCommand,
    compliance_workflow_id,
)
from workflows.compliance.schedule import duties_for
from workflows.compliance.workflow import ComplianceWorkflow

log = structlog.get_logger(__name__)
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
DUTY_ERRORS = {
    "not_participant": 403,
    "not_a_duty_day": 422,
    "outside_checkin_window": 422,
    "already_checked_in": 409,
    "no_such_duty": 422,
    "too_early": 422,
    "already_reported": 409,
}


def _problem(exc: Exception, *, duties_begin: date | None = None, today: date | None = None) -> Problem:
    problem = problem_from_update_error(exc, finished_detail="Masa kewajiban pengajuan ini sudah berakhir.")
    if problem.code in DUTY_ERRORS:
        problem.status = DUTY_ERRORS[problem.code]
    elif problem.code == "request_finished":
        if duties_begin is not None and today is not None and today < duties_begin:
            # Duties are scheduled when the first approved day starts; there is nothing to report before it.
            return Problem(422, "not_a_duty_day", f"Kewajiban baru dimulai pada {duties_begin:%d-%m-%Y}.")
        problem = Problem(409, "duties_closed", problem.detail)
    return problem


async def _request_duty_problem(c: Container, row: Any, exc: Exception) -> Problem:
    """A refused check-in or report of a request, told apart from duties not yet scheduled."""
    problem = _problem(exc, duties_begin=min(row["dates"]), today=await _today_in_region(c, row["region"]))
    stream = compliance_workflow_id(f"request:{row['request_id']}")
    if problem.code == "duties_closed" and await c.store.last_event(stream) is None:
        # The approval starts the duties' workflow right after its last decision; until that workflow has
        # scheduled them nothing was recorded, so sending again is safe.
        return Problem(503, "duties_not_scheduled", "Kewajiban pengajuan ini sedang dijadwalkan; kirim lagi sebentar.")
    return problem


async def _today_in_region(c: Container, region: str) -> date:
    return c.clock.now().astimezone(fixed_zone((await c.policy.packs()).timezone_for(region))).date()


async def _approved_own_request(c: Container, me: Principal, request_id: UUID) -> Any:
    row = await c.reads.request(request_id)
    if row is None:
        raise Problem(404, "request_not_found", "Pengajuan tidak ditemukan.")
    if row["requester_nip"] != me.nip:
        raise Problem(403, "not_requester", "Hanya pengaju yang dapat melapor untuk pengajuan ini.")
    if row["status"] != "APPROVED":
        raise Problem(
            409, "not_approved", f"Kewajiban hanya berlaku untuk pengajuan yang disetujui (status {row['status']})."
        )
    if not row["obligations"]:
        raise Problem(422, "no_duties", "Paket kebijakan tidak menetapkan kewajiban untuk pengajuan ini.")
    return row


def _coarse_location(body: CheckInIn, decimals: int | None) -> dict[str, Any]:
    """Keep only as much precision as the pack needs (e.g. 3 decimals ≈ 100 m)."""
    places = 3 if decimals is None else decimals
    data: dict[str, Any] = {"text": body.text}
    if body.lat is not None and body.lon is not None:
        data["lat"] = round(body.lat, places)
        data["lon"] = round(body.lon, places)
    return data


async def _visible(c: Container, outcome: DutyOutcome) -> None:
    if not await c.waiter.wait_for(outcome.last_position, timeout=c.settings.read_your_writes_timeout_seconds):
        raise Problem(504, "projection_lagging", "Tersimpan, tetapi tampilan belum diperbarui; coba lagi.")


async def _duty_result(c: Container, outcome: DutyOutcome) -> DutyResultOut:
    await _visible(c, outcome)
    row = await c.pool.fetchrow("SELECT * FROM rm_duties WHERE duty_id = $1", outcome.duty_id)
    return DutyResultOut(duty=_duty_out(row), late=outcome.late)


def _duty_out(row: Any) -> DutyOut:
    return DutyOut(
        duty_id=row["duty_id"],
        nip=row["nip"],
        day=row["day"],
        kind=row["kind"],
        label=row["label"],
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        status=row["status"],
        done_at=row["done_at"],
        task_id=row["task_id"],
        acknowledged_at=row["acknowledged_at"],
        report_to_nip=row["report_to_nip"],
        unit_code=row["unit_code"],
        subject=row["subject"],
        request_id=row["request_id"],
    )


async def check_in(c: Container, me: Principal, request_id: UUID, body: CheckInIn) -> DutyResultOut:
    row = await _approved_own_request(c, me, request_id)
    # The check-in duty says how precisely the location is kept and for how long (Luwu Utara: 3 decimals,
    # 90 days); past that the retention job crypto-shreds it.
    duty = next((o for o in row["obligations"] if o.get("kind") == "location_checkin"), {})
    sealed = await c.vault.seal(
        me.nip,
        purpose_kept_for("location", duty.get("retention_days")),
        _coarse_location(body, duty.get("location_precision_decimals")),
        c.clock.now(),
    )
    handle = c.temporal.get_workflow_handle(compliance_workflow_id(f"request:{request_id}"))
    try:
        outcome: DutyOutcome = await handle.execute_update(
            ComplianceWorkflow.check_in, CheckInCommand(actor=me.nip, location=sealed), result_type=DutyOutcome
        )
    except Exception as exc:
        raise await _request_duty_problem(c, row, exc) from exc
    return await _duty_result(c, outcome)


async def submit_report(c: Container, me: Principal, request_id: UUID, body: ReportIn) -> DutyResultOut:
    row = await _approved_own_request(c, me, request_id)
    attachment_sha = attachment_size = None
    if body.attachment is not None:
        try:
            content = base64.b64decode(body.attachment.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Problem(422, "attachment_not_base64", "Lampiran harus dikodekan base64.") from exc
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise Problem(413, "attachment_too_large", f"Lampiran paling besar {MAX_ATTACHMENT_BYTES // 1024} KB.")
        attachment_sha, attachment_size = hashlib.sha256(content).hexdigest(), len(content)
        sealed_file = await c.vault.seal(
            me.nip, "report", {"name": body.attachment.name, "b64": body.attachment.content_base64}, c.clock.now()
        )
        await c.pool.execute(
            "INSERT INTO report_attachments (sha256, nip, name, size, sealed) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (sha256) DO NOTHING",
            attachment_sha,
            me.nip,
            body.attachment.name,
            attachment_size,
            sealed_file.model_dump(),
        )
    text = await c.vault.seal(me.nip, "report", {"text": body.text}, c.clock.now())
    handle = c.temporal.get_workflow_handle(compliance_workflow_id(f"request:{request_id}"))
    try:
        outcome: DutyOutcome = await handle.execute_update(
            ComplianceWorkflow.report,
            ReportCommand(
                actor=me.nip,
                report_kind=body.kind,
                day=body.day,
                text=text,
                attachment_sha256=attachment_sha,
                attachment_name=body.attachment.name if body.attachment else None,
                attachment_bytes=attachment_size,
            ),
            result_type=DutyOutcome,
        )
    except Exception as exc:
        raise await _request_duty_problem(c, row, exc) from exc
    return await _duty_result(c, outcome)


async def _supervised_units(c: Container, me: Principal) -> set[tuple[str, str]] | None:
    """Units whose duties `me` may see: None means the whole region (OPD heads see their OPD, below)."""
    if me.has(Role.PPK) or me.has(Role.INSPECTOR) or me.has(Role.ADMIN):
        return None
    directory = await c.reads.directory()
    holders = {me.nip} | ({me.person.acting_for} if me.person.acting_for else set())
    units: set[tuple[str, str]] = set()
    for (region, unit), members in directory.units.items():
        if region != me.region or not members:
            continue
        head = directory.unit_head(region, unit)
        opd_head = directory.opd_head(region, members[0].opd_code)
        if (head and head.nip in holders) or (opd_head and opd_head.nip in holders):
            units.add((region, unit))
    return units


async def day_view(c: Container, me: Principal, day: date, unit: str | None) -> list[DutyOut]:
    units = await _supervised_units(c, me)
    if units is not None and not units:
        raise Problem(403, "forbidden", "Hanya atasan, inspektur atau admin yang dapat melihat kepatuhan unit.")
    rows = await c.pool.fetch(
        "SELECT * FROM rm_duties WHERE region = $1 AND day = $2 AND ($3::text IS NULL OR unit_code = $3) "
        "ORDER BY unit_code, nip, opens_at",
        me.region,
        day,
        unit,
    )
    return [_duty_out(r) for r in rows if units is None or (r["region"], r["unit_code"]) in units]


async def day_csv(c: Container, me: Principal, day: date, unit: str | None) -> str:
    duties = await day_view(c, me, day, unit)
    names = await c.reads.names({d.nip for d in duties})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tanggal", "unit", "nip", "nama", "kewajiban", "mulai", "batas", "status", "dilakukan_pada"])
    zone = (await c.policy.packs()).timezone_for(me.region)
    for d in duties:
        writer.writerow(
            [
                d.day.isoformat(),
                d.unit_code,
                d.nip,
                names.get(d.nip, ""),
                d.label,
                local_time(d.opens_at, zone),
                local_time(d.closes_at, zone),
                d.status,
                local_time(d.done_at, zone) or "",
            ]
        )
    return out.getvalue()


async def open_tasks(c: Container, me: Principal) -> list[DutyOut]:
    holders = [me.nip] + ([me.person.acting_for] if me.person.acting_for else [])
    rows = await c.pool.fetch(
        "SELECT * FROM rm_duties WHERE status = 'missed' AND acknowledged_at IS NULL "
        "AND report_to_nip = ANY($1::text[]) AND nip <> $2 ORDER BY closes_at, duty_id",
        holders,
        me.nip,
    )
    return [_duty_out(r) for r in rows]


async def acknowledge(c: Container, me: Principal, task_id: str, body: AcknowledgeIn) -> DutyOut:
    row = await c.pool.fetchrow("SELECT * FROM rm_duties WHERE task_id = $1", task_id)
    if row is None:
        raise Problem(404, "task_not_found", "Tugas tidak ditemukan.")
    holders = {me.nip} | ({me.person.acting_for} if me.person.acting_for else set())
    if row["report_to_nip"] not in holders or row["nip"] == me.nip:
        raise Problem(403, "not_assignee", "Tugas ini tidak ditujukan kepada Anda.")
    payload = ComplianceAcknowledged(task_id=task_id, duty_id=row["duty_id"], comment=body.comment)
    stream = f"compliance-ack-{task_id}"
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=c.clock.now(),
        actor=me.nip,
        on_behalf_of=row["report_to_nip"] if row["report_to_nip"] != me.nip else None,
        correlation_id=uuid.uuid4().hex,
        clock=c.clock.mode,
    )
    try:
        appended = await c.store.append(AppendUnit([event], {stream: NO_STREAM}))
    except ConcurrencyError as exc:
        raise Problem(409, "already_acknowledged", "Tugas ini sudah ditindaklanjuti.") from exc
    await c.waiter.wait_for(appended[-1].position, timeout=c.settings.read_your_writes_timeout_seconds)
    refreshed = await c.pool.fetchrow("SELECT * FROM rm_duties WHERE task_id = $1", task_id)
    return _duty_out(refreshed)


async def set_piket(c: Container, me: Principal, body: PiketIn) -> PiketOut:
    """A unit head (or the region's admin) names who keeps the office on a piket day; their attendance is then
    checked like any duty. A later roster for the same unit and day replaces the earlier one."""
    is_admin = me.has(Role.ADMIN)
    if not (me.has(Role.UNIT_HEAD) or me.has(Role.OPD_HEAD) or is_admin):
        raise Problem(403, "forbidden", "Hanya kepala unit atau kepala perangkat daerah yang menyusun jadwal piket.")
    directory = await c.reads.directory()
    unit = body.unit_code or me.person.unit_code
    members_of_unit = directory.unit_members(me.region, unit)
    # A unit head keeps their own unit's roster; an OPD head those of their OPD's units; an admin any unit of
    # the region. Decided before any other check, so a caller without the right learns nothing else.
    own_unit = me.has(Role.UNIT_HEAD) and unit == me.person.unit_code
    own_opd = me.has(Role.OPD_HEAD) and bool(members_of_unit) and members_of_unit[0].opd_code == me.person.opd_code
    if not (own_unit or own_opd or (is_admin and bool(members_of_unit))):
        raise Problem(403, "unit_forbidden", f"Anda tidak memimpin unit {unit}; jadwal piketnya disusun pimpinannya.")
    opd_code, opd_class = members_of_unit[0].opd_code, members_of_unit[0].opd_class
    packs = await c.policy.packs()
    loaded = packs.for_region(me.region)
    today = c.clock.now().astimezone(fixed_zone(packs.timezone_for(me.region))).date()
    if body.day < today:
        raise Problem(422, "past_date", "Jadwal piket disusun sebelum atau pada hari piket, bukan sesudahnya.")
    rule = piket_days(loaded, opd_class).get(body.day) if loaded is not None else None
    if rule is None:
        citations = [loaded.cite(p).model_dump(mode="json") for p in loaded.pack.piket] if loaded is not None else []
        raise Problem(
            422,
            "not_a_piket_day",
            f"{body.day:%d-%m-%Y} bukan hari piket bagi {members_of_unit[0].opd_name} menurut paket kebijakan wilayah.",
            title="Ditolak oleh kebijakan",
            citations=citations,
        )
    members = {p.nip for p in members_of_unit}
    strangers = sorted(set(body.nips) - members)
    if strangers:
        raise Problem(422, "not_unit_members", f"Bukan anggota unit {unit}: {', '.join(strangers)}.")
    assert loaded is not None  # a piket rule came from it
    earlier = await c.pool.fetchval(
        "SELECT roster_id FROM rm_piket WHERE region = $1 AND unit_code = $2 AND day = $3 AND superseded_by IS NULL",
        me.region,
        unit,
        body.day,
    )
    roster_id = uuid.uuid4()
    payload = PiketRosterSet(
        roster_id=roster_id,
        region=me.region,
        opd_code=opd_code,
        unit_code=unit,
        day=body.day,
        nips=sorted(set(body.nips)),
        citation=loaded.cite(rule),
        supersedes=earlier,
    )
    stream = f"piket-{roster_id}"
    event = NewEvent.of(
        payload,
        event_id=uuid.uuid4(),
        stream_id=stream,
        occurred_at=c.clock.now(),
        actor=me.nip,
        correlation_id=uuid.uuid4().hex,
        clock=c.clock.mode,
        policy=loaded.ref,
    )
    appended = await c.store.append(AppendUnit([event], {stream: NO_STREAM}))
    # Read-your-writes: the next roster for this unit and day must find this one to supersede it.
    await c.waiter.wait_for(appended[-1].position, timeout=c.settings.read_your_writes_timeout_seconds)
    if earlier is not None:
        old = c.temporal.get_workflow_handle(compliance_workflow_id(f"piket:{earlier}"))
        try:
            await old.signal(ComplianceWorkflow.stop, "diganti jadwal piket baru")
        except Exception:  # already over: nothing left to stop
            log.info("piket_superseded_roster_already_closed", roster_id=str(earlier))
    attendance = Obligation(
        kind="e_presensi",
        windows=tuple(DutyWindow(label=w.label, start=w.start, end=w.end) for w in rule.attendance_windows),
        citation=loaded.cite(rule),
    )
    head = directory.unit_head(me.region, unit)
    report_to = me.nip if own_unit or head is None else head.assignee_nip
    subject = f"piket:{roster_id}"
    duties = [
        duty
        for nip in payload.nips
        for duty in duties_for(
            subject=subject,
            nip=nip,
            days=[body.day],
            obligations=[attendance],
            timezone=loaded.pack.timezone,
            superiors={Tier.UNIT_HEAD: report_to},
        )
    ]
    await c.temporal.start_workflow(
        ComplianceWorkflow.run,
        ComplianceInput(
            subject=subject,
            region=me.region,
            opd_code=opd_code,
            unit_code=unit,
            timezone=loaded.pack.timezone,
            participants=payload.nips,
            duties=duties,
            correlation_id=uuid.uuid4().hex,
            policy=loaded.ref.model_dump(mode="json"),
            clock_offset_seconds=c.clock.offset.total_seconds(),
            clock_mode=c.clock.mode,
        ),
        id=compliance_workflow_id(subject),
        task_queue=c.task_queue,
    )
    return PiketOut(
        id=roster_id,
        day=body.day,
        unit_code=unit,
        nips=payload.nips,
        timezone=zone_label(loaded.pack.timezone),
        supersedes=earlier,
    )


async def piket_check_in(c: Container, me: Principal, roster_id: UUID) -> DutyResultOut:
    if await c.store.last_event(f"piket-{roster_id}") is None:  # the store, not a read model that may lag
        raise Problem(404, "roster_not_found", "Jadwal piket tidak ditemukan.")
    handle = c.temporal.get_workflow_handle(compliance_workflow_id(f"piket:{roster_id}"))
    try:
        outcome: DutyOutcome = await handle.execute_update(
            ComplianceWorkflow.check_in, CheckInCommand(actor=me.nip), result_type=DutyOutcome
        )
    except Exception as exc:
        raise _problem(exc) from exc
    return await _duty_result(c, outcome)
