"""How each pemda presents itself on paper: kop surat, the head of region's title, the place of signing.

Display data only, keyed by the region's pack id. The policy packs are the place for rules; when they carry
this data too, this module becomes a lookup into them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegionDisplay:
    pemda: str  # "Pemerintah Kota Kendari"
    head_title: str  # "Wali Kota Kendari": the PPK's title on a letter
    seat: str  # where letters are signed
    province: str
    timezone: str
    letter_code: str = "800"  # kode klasifikasi arsip: 800 Kepegawaian


REGIONS: dict[str, RegionDisplay] = {
    "kendari": RegionDisplay(
        "Pemerintah Kota Kendari", "Wali Kota Kendari", "Kendari", "Sulawesi Tenggara", "Asia/Makassar"
    ),
    "bitung": RegionDisplay("Pemerintah Kota Bitung", "Wali Kota Bitung", "Bitung", "Sulawesi Utara", "Asia/Makassar"),
    "kutai-timur": RegionDisplay(
        "Pemerintah Kabupaten Kutai Timur", "Bupati Kutai Timur", "Sangatta", "Kalimantan Timur", "Asia/Makassar"
    ),
    "luwu-utara": RegionDisplay(
        "Pemerintah Kabupaten Luwu Utara", "Bupati Luwu Utara", "Masamba", "Sulawesi Selatan", "Asia/Makassar"
    ),
    "pesisir-barat": RegionDisplay(
        "Pemerintah Kabupaten Pesisir Barat", "Bupati Pesisir Barat", "Krui", "Lampung", "Asia/Jakarta"
    ),
}


def region_display(region: str) -> RegionDisplay:
    known = REGIONS.get(region)
    if known is not None:
        return known
    name = region.replace("-", " ").title()
    return RegionDisplay(f"Pemerintah Daerah {name}", f"Kepala Daerah {name}", name, "", "Asia/Jakarta")
