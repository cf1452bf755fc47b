"""The request form: from posted fields to the API's SubmitRequestIn, with messages per field. Pure."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from contracts.api import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, AttachmentIn, SubmitRequestIn
from contracts.bahasa import COUNTRY_NAMES
from contracts.common import MAX_CLTN_DATES, RequestKind
from services.portal.options import FormOptions, KindOption

MAX_DAYS = 92
COUNTRIES = tuple(COUNTRY_NAMES.items())
COUNTRY_CODES = {code for code, _ in COUNTRIES}
PURPOSES = {"dinas": "Kedinasan", "pribadi": "Pribadi"}


@dataclass
class RequestForm:
    """What the person typed (to show it again) and what is wrong with it, field by field."""

    kind: str = ""
    days: list[str] = field(default_factory=list)
    start: str = ""
    end: str = ""
    location: str = ""
    country: str = "ID"
    reason: str = ""
    work_plan: str = ""
    purpose: str = ""
    leave_address: str = ""
    leave_phone: str = ""
    remote_place: bool = False
    extra_days: str = ""
    attachments: list[AttachmentIn] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # required fields left empty (not nagged about while typing)
    body: SubmitRequestIn | None = None

    @property
    def ok(self) -> bool:
        return self.body is not None and not self.errors

    def require(self, name: str, message: str) -> None:
        self.errors[name] = message
        self.missing.add(name)

    @property
    def mistakes(self) -> dict[str, str]:
        """Errors worth showing while the person is still filling the form in."""
        return {k: v for k, v in self.errors.items() if k not in self.missing}


def _values(form: Mapping[str, Any] | Any, name: str) -> list[str]:
    getter = getattr(form, "getlist", None)
    raw: Sequence[Any] = getter(name) if getter else ([form[name]] if name in form else [])
    return [str(v).strip() for v in raw if isinstance(v, str) and v.strip()]


def _one(form: Mapping[str, Any] | Any, name: str) -> str:
    values = _values(form, name)
    return values[0] if values else ""


def _uploads(form: Mapping[str, Any] | Any, f: RequestForm) -> list[AttachmentIn]:
    """Files chosen in the form's document fields, base64 as the API takes them (the service judges them)."""
    getter = getattr(form, "getlist", None)
    raw: Sequence[Any] = getter("lampiran") if getter else []
    files = [u for u in raw if hasattr(u, "file") and getattr(u, "filename", "")]
    if len(files) > MAX_ATTACHMENTS:
        f.errors["lampiran"] = f"Paling banyak {MAX_ATTACHMENTS} lampiran."
        return []
    out = []
    for upload in files:
        content = upload.file.read(MAX_ATTACHMENT_BYTES + 1)
        if len(content) > MAX_ATTACHMENT_BYTES:
            f.errors["lampiran"] = f"Berkas {upload.filename} lebih dari {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB."
            return []
        out.append(AttachmentIn(name=str(upload.filename)[:200], content_base64=base64.b64encode(content).decode()))
    return out


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _dates(option: KindOption, f: RequestForm) -> list[date]:
    pick = option.windows[0].pick if option.windows else "days"
    if pick == "days":
        parsed = [_parse_day(d) for d in f.days]
        if not f.days:
            f.require("tanggal", "Pilih paling sedikit satu tanggal.")
            return []
        if any(d is None for d in parsed):
            f.errors["tanggal"] = "Tanggal tidak valid."
            return []
        days = sorted({d for d in parsed if d is not None})
    else:
        first, last = _parse_day(f.start), _parse_day(f.end or f.start)
        if first is None and f.start:
            f.errors["mulai"] = "Tanggal mulai tidak valid."
            return []
        if first is None:
            f.require("mulai", "Isi tanggal mulai.")
            return []
        if last is None:
            f.errors["sampai"] = "Tanggal selesai tidak valid."
            return []
        if last < first:
            f.errors["sampai"] = "Tanggal selesai tidak boleh sebelum tanggal mulai."
            return []
        limit = MAX_CLTN_DATES if option.kind == RequestKind.CLTN else MAX_DAYS
        if (last - first).days >= limit:
            f.errors["sampai"] = f"Paling lama {limit} hari dalam satu pengajuan."
            return []
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    outside = [d for d in days if not option.allows(d)]
    if outside:
        key = "tanggal" if pick == "days" else "mulai"
        f.errors[key] = f"Tanggal {outside[0]:%d-%m-%Y} di luar rentang yang dibuka untuk {option.label}."
    return days


def parse_request_form(
    form: Mapping[str, Any] | Any, options: FormOptions, *, fixed_kind: str | None = None
) -> RequestForm:
    f = RequestForm(
        kind=fixed_kind or _one(form, "jenis"),
        days=_values(form, "tanggal"),
        start=_one(form, "mulai"),
        end=_one(form, "sampai"),
        location=_one(form, "lokasi"),
        country=_one(form, "negara") or "ID",
        reason=_one(form, "alasan"),
        work_plan=_one(form, "rencana_kerja"),
        purpose=_one(form, "tujuan_perjalanan"),
        leave_address=_one(form, "alamat_cuti"),
        leave_phone=_one(form, "telepon_cuti"),
        remote_place=_one(form, "sulit_perhubungan") == "ya",
        extra_days=_one(form, "tambahan_hari"),
    )
    option = options.option(f.kind)
    if option is None:
        f.require("jenis", "Pilih jenis pengajuan yang tersedia untuk Anda.")
        return f
    dates = _dates(option, f)
    location = None
    if option.needs_location:
        if not f.location:
            f.require("lokasi", "Isi lokasi kerja (kota, alamat singkat).")
        elif len(f.location) > 200:
            f.errors["lokasi"] = "Lokasi paling panjang 200 karakter."
        if f.country not in COUNTRY_CODES:
            f.errors["negara"] = "Pilih negara dari daftar."
        elif f.country != "ID" and not option.abroad_allowed:
            f.errors["negara"] = "Jenis ini tidak dapat dilakukan dari luar negeri."
        location = {"text": f.location, "country": f.country}
    purpose = None
    if option.needs_purpose:
        if f.country == "ID" and "negara" not in f.errors:
            f.errors["negara"] = "Pilih negara tujuan di luar Indonesia."
        if f.purpose not in PURPOSES:
            f.require("tujuan_perjalanan", "Pilih tujuan perjalanan: dinas atau pribadi.")
        else:
            purpose = f.purpose
    if not f.reason:
        f.require("alasan", "Isi alasan pengajuan.")
    elif len(f.reason) > 4000:
        f.errors["alasan"] = "Alasan paling panjang 4000 karakter."
    if len(f.work_plan) > 4000:
        f.errors["rencana_kerja"] = "Rencana kerja paling panjang 4000 karakter."
    leave = None
    if option.kind.is_leave:
        if not f.leave_address:
            f.require("alamat_cuti", "Isi alamat selama menjalankan cuti.")
        elif len(f.leave_address) > 500:
            f.errors["alamat_cuti"] = "Alamat paling panjang 500 karakter."
        if not f.leave_phone:
            f.require("telepon_cuti", "Isi nomor telepon yang dapat dihubungi selama cuti.")
        leave = {"address": f.leave_address, "phone": f.leave_phone, **_remote_place(option.kind, f)}
        f.attachments = _uploads(form, f)
    if f.errors:
        return f
    try:
        f.body = SubmitRequestIn(
            kind=option.kind,
            dates=dates,
            location=location,
            reason=f.reason,
            work_plan=f.work_plan or None,
            travel_purpose=purpose,
            leave=leave,
            attachments=f.attachments,
        )
    except ValidationError as exc:
        for err in exc.errors():
            where = str(err["loc"][0]) if err["loc"] else "jenis"
            name = {
                "dates": "tanggal",
                "location": "lokasi",
                "reason": "alasan",
                "work_plan": "rencana_kerja",
                "attachments": "lampiran",
            }
            if where == "leave":
                where = "telepon_cuti" if "phone" in map(str, err["loc"]) else "alamat_cuti"
                f.errors[where] = (
                    "Nomor telepon hanya angka, spasi, tanda hubung dan + (5–25 karakter)."
                    if where == "telepon_cuti"
                    else "Alamat tidak valid."
                )
                continue
            f.errors[name.get(where, where)] = "Isian tidak valid (mengandung karakter yang tidak diizinkan)."
    return f


def preview_body(form: RequestForm, options: FormOptions) -> SubmitRequestIn | None:
    """A body good enough to ask the evaluator for the route while the reason is still being typed."""
    if form.body is not None:
        return form.body
    option = options.option(form.kind)
    if option is None or any(k in form.errors for k in ("jenis", "tanggal", "mulai", "sampai", "negara")):
        return None
    probe = RequestForm(kind=form.kind, days=form.days, start=form.start, end=form.end)
    dates = _dates(option, probe)
    if probe.errors or not dates:
        return None
    location = {"text": form.location or "-", "country": form.country} if option.needs_location else None
    purpose = form.purpose if option.needs_purpose and form.purpose in PURPOSES else None
    try:
        return SubmitRequestIn(
            kind=option.kind, dates=dates, location=location, reason=form.reason or "-", travel_purpose=purpose
        )
    except ValidationError:
        return None


def _remote_place(kind: RequestKind, f: RequestForm) -> dict[str, Any]:
    """Annual leave in a place hard to reach: the box and the calendar days of travel asked for."""
    if kind != RequestKind.CUTI_TAHUNAN or not f.remote_place:
        return {}
    if not f.extra_days.isdigit() or int(f.extra_days) < 1:
        f.errors["tambahan_hari"] = "Isi jumlah hari kalender tambahan untuk perjalanan (angka, paling sedikit 1)."
        return {}
    return {"remote_place": True, "extra_days": int(f.extra_days)}
