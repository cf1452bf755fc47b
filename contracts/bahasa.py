"""Day and month names and the plain date forms Indonesian text uses; shared by rules, letters and the portal."""

from __future__ import annotations

from datetime import date

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


# The countries the request form offers (Indonesia first), by ISO 3166 code, named as Indonesian text names them.
COUNTRY_NAMES = {
    "ID": "Indonesia",
    "MY": "Malaysia",
    "SG": "Singapura",
    "BN": "Brunei Darussalam",
    "TL": "Timor-Leste",
    "TH": "Thailand",
    "PH": "Filipina",
    "VN": "Vietnam",
    "AU": "Australia",
    "JP": "Jepang",
    "KR": "Korea Selatan",
    "CN": "Tiongkok",
    "SA": "Arab Saudi",
    "NL": "Belanda",
    "GB": "Inggris",
    "US": "Amerika Serikat",
}


def country_name(code: str | None) -> str:
    """'Malaysia' for 'MY'; a code we do not name stays as it is."""
    return COUNTRY_NAMES.get(code or "", code or "")


def long_date(day: date) -> str:
    """'26 Desember 2025'."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def day_and_date(day: date) -> str:
    """'Jumat, 26 Desember 2025'."""
    return f"{DAY_NAMES[day.weekday()]}, {long_date(day)}"


def short_date(day: date) -> str:
    """'26 Des 2025'."""
    return f"{day.day} {MONTH_NAMES[day.month - 1][:3]} {day.year}"
