"""What goes on an official letter, decided without I/O: its kind, number, wording, holder and signer.

Leave letters follow the structure of the BKN forms for each leave kind (PP 11/2017 for PNS, PP 49/2018 for
PPPK): a numbered title, the grant with the employee's particulars, the period, the conditions, the place
and date of signing, the signer with Plt./Plh./a.n. when acting for the holder of the post, and copies.
A letter of permission for working abroad (WFA outside Indonesia) and the letter of permission to travel
abroad (surat izin ke luar negeri, for an official or a personal trip) follow the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.bahasa import country_name
from services.kernel.bahasa import ROMAN_MONTHS, period_text
from services.kernel.regions import RegionDisplay

LEAVE_KINDS = ("CUTI_TAHUNAN", "CUTI_SAKIT", "CUTI_ALASAN_PENTING", "CUTI_BESAR", "CUTI_MELAHIRKAN", "CLTN")
WFA_ABROAD = "surat_izin_wfa_luar_negeri"
TRAVEL_ABROAD = "surat_izin_luar_negeri"
PURPOSE_WORDS = {"dinas": "kepentingan dinas", "pribadi": "kepentingan pribadi"}

EMPLOYEE_WORDS = {
    "PNS": "Pegawai Negeri Sipil",
    "PPPK": "Pegawai Pemerintah dengan Perjanjian Kerja",
    "PPPK_PW": "Pegawai Pemerintah dengan Perjanjian Kerja Paruh Waktu",
}
_UNITS = ("", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas")


def terbilang(n: int) -> str:
    """Indonesian number words, enough for day counts."""
    if n < 12:
        return _UNITS[n] or "nol"
    if n < 20:
        return f"{_UNITS[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{_UNITS[tens]} puluh" + (f" {_UNITS[rest]}" if rest else "")
    if n < 200:
        return "seratus" + (f" {terbilang(n - 100)}" if n > 100 else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_UNITS[hundreds]} ratus" + (f" {terbilang(rest)}" if rest else "")
    return str(n)


def letter_kind(request_kind: str, country: str | None) -> str | None:
    """Which letter an approved request gets, if any. (A pack may later name more kinds.)"""
    if request_kind in LEAVE_KINDS:
        return f"surat_izin_{request_kind.lower()}"
    if request_kind == "WFA" and country and country != "ID":
        return WFA_ABROAD
    if request_kind == "IZIN_LUAR_NEGERI":
        return TRAVEL_ABROAD
    return None


def letters_stream(region: str, opd_code: str, year: int) -> str:
    """One stream per OPD and year; its version is the letter's sequence number, gap-free by construction."""
    return f"letters-{region}-{opd_code}-{year}"


def letter_number(display: RegionDisplay, sequence: int, opd_code: str, issued_on: date) -> str:
    return f"{display.letter_code}/{sequence}/{opd_code}/{ROMAN_MONTHS[issued_on.month - 1]}/{issued_on.year}"


def post_title(tier: str, unit_name: str, opd_name: str, display: RegionDisplay) -> str:
    if tier == "UNIT_HEAD":
        return f"Kepala {unit_name}"
    if tier == "OPD_HEAD":
        return f"Kepala {opd_name}"
    return display.head_title


def position_of(roles: tuple[str, ...], unit_name: str, opd_name: str) -> str:
    if "opd_head" in roles:
        return f"Kepala {opd_name}"
    if "unit_head" in roles:
        return f"Kepala {unit_name}"
    return f"Pelaksana pada {unit_name}"


def signer_label(actor_acting_for: str | None, holder: str | None, holder_in_directory: bool) -> str:
    """Plt. for a vacant post, Plh. for a holder who is away, a.n. for a delegation or hand-over."""
    if holder is None:
        return ""
    if actor_acting_for == holder:
        return "Plh." if holder_in_directory else "Plt."
    if not holder_in_directory:
        return "Plt."
    return "a.n."


@dataclass(frozen=True)
class Holder:
    nip: str
    name: str
    employee_type: str
    position: str
    unit_name: str
    opd_name: str


@dataclass(frozen=True)
class Signer:
    nip: str
    name: str
    post: str  # the post signed for, e.g. "Kepala Dinas Perhubungan"
    label: str = ""  # "", "Plt.", "Plh." or "a.n."
    on_behalf_of: str | None = None

    @property
    def title(self) -> str:
        return f"{self.label} {self.post}".strip()


@dataclass(frozen=True)
class Letter:
    doc_id: str
    kind: str
    number: str
    issued_on: date
    region: RegionDisplay
    opd_name: str
    holder: Holder
    request_kind: str
    dates: tuple[date, ...]
    working_days: int
    country: str | None
    signer: Signer
    verify_url: str
    travel_purpose: str | None = None

    @property
    def title(self) -> str:
        if self.kind == TRAVEL_ABROAD:
            return "SURAT IZIN KE LUAR NEGERI"
        if self.kind == WFA_ABROAD:
            return "SURAT IZIN PELAKSANAAN TUGAS KEDINASAN SECARA FLEKSIBEL DI LUAR NEGERI"
        return "SURAT IZIN " + LEAVE_NAMES[self.request_kind].upper()

    @property
    def leave_name(self) -> str:
        return LEAVE_NAMES.get(self.request_kind, "izin")

    def grant(self) -> str:
        employee = EMPLOYEE_WORDS.get(self.holder.employee_type, "pegawai")
        if self.kind == TRAVEL_ABROAD:
            purpose = PURPOSE_WORDS.get(self.travel_purpose or "", "kepentingan dinas atau pribadi")
            return f"Diberikan izin melakukan perjalanan ke luar negeri untuk {purpose} kepada {employee}:"
        if self.kind == WFA_ABROAD:
            return (
                "Berdasarkan Peraturan Menteri Pendayagunaan Aparatur Negara dan Reformasi Birokrasi Nomor 4 "
                "Tahun 2025, diberikan izin melaksanakan tugas kedinasan dari lokasi lain di luar negeri "
                f"kepada {employee}:"
            )
        if self.request_kind == "CUTI_TAHUNAN":
            return f"Diberikan cuti tahunan untuk tahun {self.dates[0].year} kepada {employee}:"
        return f"Diberikan {self.leave_name} kepada {employee}:"

    def period(self) -> str:
        if self.kind == TRAVEL_ABROAD:
            place = country_name(self.country) or "luar negeri"
            days = len(self.dates)
            return f"ke {place} selama {days} ({terbilang(days)}) hari, {period_text(self.dates)}, dengan ketentuan:"
        if self.kind == WFA_ABROAD:
            place = country_name(self.country) or "luar negeri"
            days = len(self.dates)
            return (
                f"di {place} selama {days} ({terbilang(days)}) hari kerja, {period_text(self.dates)}, dengan ketentuan:"
            )
        count = self.working_days or len(self.dates)
        unit = "hari kerja" if self.request_kind in ("CUTI_TAHUNAN", "CUTI_ALASAN_PENTING") else "hari"
        return (
            f"selama {count} ({terbilang(count)}) {unit}, {period_text(self.dates)}, dengan ketentuan sebagai berikut:"
        )

    def conditions(self) -> tuple[str, ...]:
        if self.kind == TRAVEL_ABROAD:
            conditions = ["tidak melebihi jangka waktu dan negara tujuan yang tercantum dalam surat izin ini;"]
            if self.travel_purpose == "pribadi":
                conditions.append("hari kerja selama perjalanan ditutup dengan cuti yang telah disetujui;")
            conditions.append("melaporkan diri kepada atasan langsung setelah kembali ke tanah air.")
            return tuple(conditions)
        if self.kind == WFA_ABROAD:
            return (
                "tetap melaksanakan tugas kedinasan dan dapat dihubungi selama jam kerja;",
                "memenuhi kewajiban pelaporan yang ditetapkan oleh atasan langsung;",
                "kembali bekerja sebagaimana biasa setelah masa izin berakhir.",
            )
        return (
            f"sebelum menjalankan {self.leave_name}, wajib menyerahkan pekerjaannya kepada atasan langsung "
            "atau pejabat lain yang ditunjuk;",
            f"setelah selesai menjalankan {self.leave_name}, wajib melaporkan diri kepada atasan langsung "
            "dan bekerja kembali sebagaimana biasa.",
        )

    def closing(self) -> str:
        what = "surat izin" if self.kind in (WFA_ABROAD, TRAVEL_ABROAD) else f"surat izin {self.leave_name}"
        return f"Demikian {what} ini dibuat untuk dapat dipergunakan sebagaimana mestinya."

    def copies(self) -> tuple[str, ...]:
        return (
            "Kepala Badan Kepegawaian dan Pengembangan Sumber Daya Manusia "
            f"{self.region.pemda.removeprefix('Pemerintah ')};",
            "Atasan langsung yang bersangkutan;",
            "Yang bersangkutan;",
            "Arsip.",
        )


LEAVE_NAMES = {
    "CUTI_TAHUNAN": "cuti tahunan",
    "CUTI_SAKIT": "cuti sakit",
    "CUTI_ALASAN_PENTING": "cuti karena alasan penting",
    "CUTI_BESAR": "cuti besar",
    "CUTI_MELAHIRKAN": "cuti melahirkan",
    "CLTN": "cuti di luar tanggungan negara",
}
