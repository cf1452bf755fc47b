"""What a notification says, in Bahasa Indonesia, in the recipient's own time zone.

Only what the recipient may already see: kind, dates, names, the decision and its comment. Never the sealed
reason, work plan or location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.events import EventEnvelope
from services.kernel.bahasa import dates_text, local_datetime
from services.kernel.regions import region_display
from services.notifications import recipients as k
from services.notifications.context import RequestContext
from services.notifications.recipients import DirectoryView, Notice

KIND_LABELS = {
    "WFH": "WFH (bekerja dari rumah)",
    "WFA": "WFA (bekerja dari lokasi lain)",
    "CUTI_TAHUNAN": "cuti tahunan",
    "CUTI_SAKIT": "cuti sakit",
    "CUTI_ALASAN_PENTING": "cuti karena alasan penting",
    "CUTI_BESAR": "cuti besar",
    "CUTI_MELAHIRKAN": "cuti melahirkan",
    "IZIN_LUAR_NEGERI": "izin ke luar negeri",
    "CLTN": "cuti di luar tanggungan negara",
}
TIER_LABELS = {"UNIT_HEAD": "Kepala Unit Kerja", "OPD_HEAD": "Kepala Perangkat Daerah", "PPK": "PPK"}
DUTY_LABELS = {
    "location_checkin": "lapor lokasi",
    "activity_report": "laporan kegiatan harian",
    "performance_report": "laporan kinerja",
    "e_presensi": "e-presensi",
}
ROLE_PHRASES = {"acting": "sebagai Plt/Plh", "delegate": "sebagai penerima delegasi", "escalation": "sebagai pengganti"}


@dataclass(frozen=True)
class Message:
    title: str
    lines: tuple[str, ...]
    link: str | None

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


def request_link(base_url: str, request_id: Any) -> str:
    return f"{base_url.rstrip('/')}/pengajuan/{request_id}"


def zone_of(nip: str, view: DirectoryView, context: RequestContext | None) -> str:
    person = view.people.get(nip)
    if person is not None:
        return region_display(person.region).timezone
    return (context.timezone if context else None) or "Asia/Jakarta"


def _when(value: str | datetime | None, zone: str) -> str | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return local_datetime(moment, zone)


def compose(
    notice: Notice, event: EventEnvelope, context: RequestContext | None, view: DirectoryView, base_url: str
) -> Message:
    p = event.payload
    zone = zone_of(notice.recipient, view, context)
    at = local_datetime(event.occurred_at, zone)
    link = request_link(base_url, p["request_id"]) if p.get("request_id") else None
    if context is None:
        kind, requester, dates = "pengajuan", view.name(p.get("nip") or p.get("requester_nip")), ""
        unit = ""
    else:
        kind = KIND_LABELS.get(context.kind, context.kind)
        requester = context.requester_name
        dates = dates_text(context.dates)
        person = view.people.get(context.requester_nip)
        unit = f" ({person.unit_name}, {person.opd_name})" if person else ""
    place = f" ke {context.country}" if context is not None and context.abroad else ""

    def task_lines(tier: str, action: str) -> list[str]:
        verb = "rekomendasi" if action == "recommend" else "persetujuan"
        stand_in = ""
        if notice.holder:
            stand_in = f" {ROLE_PHRASES.get(notice.role, '')} atas nama {view.name(notice.holder)}"
        return [
            f"Pengajuan {kind}{place} dari {requester}{unit} menunggu {verb} Anda "
            f"sebagai {TIER_LABELS.get(tier, tier)}{stand_in}.",
            f"Tanggal: {dates}.",
        ]

    if notice.kind == k.TASK_ASSIGNED:
        lines = task_lines(p["tier"], p.get("action", "approve"))
        lines.append(f"Ditugaskan: {at}.")
        if due := _when(p.get("remind_at"), zone):
            lines.append(f"Mohon diputuskan sebelum {due}.")
        return Message(f"Tugas baru: {kind} {requester}", tuple(lines), link)
    if notice.kind == k.TASK_REMINDED:
        task = context.tasks.get(p["task_id"]) if context else None
        lines = task_lines(task.tier if task else "", task.action if task else "approve")
        if task is not None:
            lines.append(f"Menunggu sejak {local_datetime(task.assigned_at, zone)}.")
            if deadline := _when(task.escalate_at, zone):
                lines.append(f"Bila belum diputuskan, tugas ini dialihkan pada {deadline}.")
        return Message(f"Pengingat: {kind} {requester} menunggu keputusan Anda", tuple(lines), link)
    if notice.kind == k.TASK_ESCALATED:
        lines = task_lines(p["tier"], "approve")
        lines.insert(0, f"{view.name(p['from_nip'])} belum memutuskan dalam batas waktu; tugas dialihkan kepada Anda.")
        return Message(f"Tugas dialihkan kepada Anda: {kind} {requester}", tuple(lines), link)
    if notice.kind == k.TASK_ESCALATED_AWAY:
        target = (
            f"{TIER_LABELS.get(p['to_tier'], p['to_tier'])} ({view.name(p['to_nip'])})"
            if p["to_tier"] != p["tier"]
            else view.name(p["to_nip"])
        )
        line = (
            f"Tugas atas pengajuan {kind} dari {requester} tidak diputuskan dalam batas waktu "
            f"dan kini ditangani {target}."
        )
        return Message(f"Tugas dialihkan: {kind} {requester}", (line,), link)
    if notice.kind == k.REQUEST_PROGRESSED:
        next_tier = ""
        if context is not None and p["step"] + 1 < len(context.route):
            next_tier = context.route[p["step"] + 1]["tier"]
        lines = [f"{TIER_LABELS.get(p['tier'], p['tier'])} menyetujui pengajuan {kind} Anda ({dates}) pada {at}."]
        if next_tier:
            lines.append(f"Pengajuan diteruskan ke {TIER_LABELS.get(next_tier, next_tier)}.")
        return Message(f"Pengajuan {kind} Anda diteruskan", tuple(lines), link)
    if notice.kind == k.REQUEST_APPROVED:
        lines = [f"Pengajuan {kind}{place} Anda untuk {dates} disetujui pada {at}."]
        if context is not None and (context.kind.startswith("CUTI") or context.abroad):
            lines.append("Surat izin resmi akan tersedia di halaman pengajuan.")
        return Message(f"Pengajuan {kind} Anda disetujui", tuple(lines), link)
    if notice.kind == k.UNIT_MEMBER_APPROVED:
        line = f"{requester} disetujui {kind} pada {dates}. Mohon diperhitungkan dalam pembagian tugas unit."
        return Message(f"Anggota unit: {requester} {kind}", (line,), link)
    if notice.kind == k.REQUEST_REJECTED:
        lines = [f"Pengajuan {kind} Anda untuk {dates} ditolak pada {at}."]
        if p.get("reason"):
            lines.append(f"Alasan: {p['reason']}")
        return Message(f"Pengajuan {kind} Anda ditolak", tuple(lines), link)
    if notice.kind == k.REQUEST_RETURNED:
        lines = [
            f"{TIER_LABELS.get(p['tier'], p['tier'])} mengembalikan pengajuan {kind} Anda untuk diperbaiki.",
            f"Catatan: {p['comment']}",
            "Silakan perbaiki lalu ajukan ulang.",
        ]
        return Message(f"Pengajuan {kind} Anda dikembalikan", tuple(lines), link)
    if notice.kind == k.REQUEST_EXPIRED:
        line = f"Pengajuan {kind} Anda untuk {dates} tidak diputuskan sebelum hari pertama dan kini kedaluwarsa."
        return Message(f"Pengajuan {kind} Anda kedaluwarsa", (line,), link)
    if notice.kind == k.REQUEST_DEFERRED:
        until = dates_text([datetime.fromisoformat(p["defer_until"]).date()])
        lines = [
            f"Cuti tahunan Anda untuk {dates} ditangguhkan sampai {until} pada {at} karena kepentingan dinas mendesak.",
            f"Alasan: {p['reason']}",
            f"{p['working_days']} hari kerja cuti tersebut dapat digunakan pada tahun berikutnya.",
        ]
        return Message(f"Cuti tahunan Anda ditangguhkan sampai {until}", tuple(lines), link)
    if notice.kind in (k.COMPLIANCE_MISSED, k.COMPLIANCE_MISSED_SUPERIOR):
        duty = DUTY_LABELS.get(p["duty"], p["duty"])
        day = dates_text([datetime.fromisoformat(p["day"]).date()])
        if notice.kind == k.COMPLIANCE_MISSED:
            line = f"Kewajiban {duty} Anda untuk {day} belum dipenuhi. Atasan langsung Anda telah diberi tahu."
            return Message(f"Kewajiban terlewat: {duty} {day}", (line,), link)
        who = view.name(p.get("nip") or p.get("requester_nip"))
        line = f"{who} belum memenuhi kewajiban {duty} untuk {day}."
        return Message(f"Kewajiban terlewat: {who}", (line,), link)
    if notice.kind == k.DOCUMENT_ISSUED:
        line = f"Surat izin untuk pengajuan {kind} Anda telah terbit dengan nomor {p['number']}."
        return Message(f"Surat izin terbit: {p['number']}", (line,), link)
    return Message(event.type, (), link)


def email_text(recipient_name: str, title: str, body: str, link: str | None) -> str:
    parts = [f"Yth. {recipient_name},", "", body]
    if link:
        parts += ["", f"Buka pengajuan: {link}"]
    parts += [
        "",
        "--",
        "Pesan ini dikirim otomatis oleh Lentur. Atur saluran pemberitahuan Anda di menu Pemberitahuan.",
    ]
    return "\n".join(parts) + "\n"


def digest_text(recipient_name: str, items: list[tuple[str, str, str | None]]) -> str:
    parts = [f"Yth. {recipient_name},", "", f"Ringkasan harian: {len(items)} tugas menunggu keputusan Anda.", ""]
    for index, (title, body, link) in enumerate(items, start=1):
        parts.append(f"{index}. {title}")
        parts += [f"   {line}" for line in body.splitlines()]
        if link:
            parts.append(f"   {link}")
        parts.append("")
    parts += ["--", "Anda menerima ringkasan ini karena memilih ringkasan harian untuk tugas persetujuan."]
    return "\n".join(parts) + "\n"
