"""Words the portal shows for the service's codes, in Bahasa Indonesia."""

from __future__ import annotations

from datetime import date

from contracts import bahasa
from contracts.common import Role
from services.portal.options import KIND_LABELS

STATUS_LABELS = {
    "PENDING": "Menunggu persetujuan",
    "RETURNED": "Dikembalikan untuk perbaikan",
    "APPROVED": "Disetujui",
    "REJECTED": "Ditolak",
    "CANCELLED": "Dibatalkan",
    "EXPIRED": "Kedaluwarsa",
    "DEFERRED": "Ditangguhkan",
    "REFUSED": "Ditolak kebijakan",
}
TIER_LABELS = {"UNIT_HEAD": "Kepala unit kerja", "OPD_HEAD": "Kepala perangkat daerah", "PPK": "PPK"}
ACTION_LABELS = {"recommend": "rekomendasi", "approve": "persetujuan"}
DECISION_LABELS = {
    "approve": "Disetujui",
    "change": "Perubahan",
    "defer": "Ditangguhkan",
    "reject": "Tidak disetujui",
    "return": "Kembalikan",
}
ROLE_LABELS = {
    Role.PPK: "PPK (kepala daerah)",
    Role.INSPECTOR: "Inspektorat",
    Role.ADMIN: "Admin kepegawaian",
    Role.OPD_HEAD: "Kepala perangkat daerah",
    Role.UNIT_HEAD: "Kepala unit kerja",
}
STAFF_LABEL = "Pegawai"
EMPLOYEE_TYPE_LABELS = {"PNS": "PNS", "PPPK": "PPPK", "PPPK_PW": "PPPK paruh waktu"}
OPD_CLASS_LABELS = {"vital": "Layanan vital", "direct_service": "Layanan langsung", "support": "Pendukung"}
REGION_LABELS = {
    "kutai-timur": "Kabupaten Kutai Timur",
    "bitung": "Kota Bitung",
    "luwu-utara": "Kabupaten Luwu Utara",
    "pesisir-barat": "Kabupaten Pesisir Barat",
    "kendari": "Kota Kendari",
}
EVENT_LABELS = {
    "RequestSubmitted": "Pengajuan dikirim",
    "RouteDetermined": "Alur persetujuan ditetapkan",
    "TaskAssigned": "Tugas diteruskan ke penyetuju",
    "TaskReminded": "Pengingat dikirim",
    "TaskEscalated": "Tugas dieskalasi",
    "DecisionRecorded": "Keputusan dicatat",
    "RequestReturned": "Dikembalikan untuk perbaikan",
    "RequestResubmitted": "Diajukan ulang",
    "RequestApproved": "Pengajuan disetujui",
    "RequestRejected": "Pengajuan ditolak",
    "RequestCancelled": "Pengajuan dibatalkan",
    "RequestExpired": "Pengajuan kedaluwarsa",
    "RequestDatesChanged": "Tanggal cuti diubah oleh pejabat yang berwenang",
    "RequestDeferred": "Cuti tahunan ditangguhkan",
    "QuotaReserved": "Kuota dicadangkan",
    "QuotaReleased": "Kuota dilepas",
    "QuotaConsumed": "Kuota terpakai",
    "CheckInRecorded": "Lapor lokasi",
    "ActivityReportSubmitted": "Laporan kegiatan harian",
    "ComplianceMissed": "Kewajiban terlewat",
    "DocumentIssued": "Surat resmi diterbitkan",
    "DocumentRevoked": "Surat resmi dicabut",
    "PersonalDataErased": "Data pribadi dihapus (retensi)",
    "DutiesScheduled": "Kewajiban hari kerja fleksibel dijadwalkan",
    "ComplianceAcknowledged": "Kewajiban terlewat ditindaklanjuti atasan",
    "PiketRosterSet": "Jadwal piket ditetapkan",
}
DUTY_LABELS = {
    "location_checkin": "Lapor lokasi kerja",
    "activity_report": "Laporan kegiatan harian",
    "performance_report": "Laporan kinerja",
    "e_presensi": "E-presensi",
}


def short_date(value: date | str) -> str:
    return bahasa.short_date(date.fromisoformat(value) if isinstance(value, str) else value)


def kind_label(code: str) -> str:
    return next((label for k, label in KIND_LABELS.items() if k.value == code), code)


def region_label(region: str) -> str:
    return REGION_LABELS.get(region, region.replace("-", " ").title())


def role_group(roles: frozenset[Role]) -> str:
    """The one heading a person is listed under on the sign-in page: their highest post."""
    for role in (Role.PPK, Role.INSPECTOR, Role.ADMIN, Role.OPD_HEAD, Role.UNIT_HEAD):
        if role in roles:
            return ROLE_LABELS[role]
    return STAFF_LABEL


ROLE_GROUP_ORDER = [*ROLE_LABELS.values(), STAFF_LABEL]
