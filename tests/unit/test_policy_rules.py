"""One case per rule of every shipped pack, each asserting the citation (rule id and legal source).

The last test checks that the table covers every rule id the packs define, so a new rule without a case
fails here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from contracts.common import Citation, Location, Tier, TravelPurpose
from contracts.evaluation import Evaluation, UsageSnapshot
from policy.directory import DirectoryIndex
from policy.evaluator import piket_days, staffing_minimum_for
from policy.packs import PackSet

from .policy_support import (
    BITUNG_DIRECT,
    BITUNG_PPPK_PW,
    BITUNG_SUPPORT,
    BITUNG_VITAL,
    KENDARI_DIRECT,
    KENDARI_PPPK,
    KENDARI_SUPPORT,
    KENDARI_VITAL,
    KENDARI_YOUNG_PNS,
    KUTIM_OPD_HEAD,
    KUTIM_PPPK,
    KUTIM_STAFF,
    KUTIM_VITAL,
    KUTIM_YOUNG,
    LUWU_DIRECT,
    LUWU_OPD_HEAD,
    LUWU_PPPK_PW,
    LUWU_SUPPORT_F,
    PESBAR_DIRECT,
    PESBAR_SUPPORT,
    PESBAR_VITAL,
    judge,
    packs,
    people,
    person,
)

KUTIM_SE = "SE Bupati Kutai Timur No. B-000.8.6.1/17728/BUP"
BITUNG_SE = "SE Wali Kota Bitung No. 000/24SD/WK Tahun 2025"
LUWU_SE = "SE Bupati Luwu Utara No. 100.3.4.2/1031/BKPSDM/XII/2025"
PESBAR_SE = "SE Pemkab Pesisir Barat No. 100.3.4.2/022/08/2025"
KENDARI_SE = "SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025"
B531 = "Surat Menteri PANRB No. B/531/M.KT.02/2025"
PERMEN = "PermenPANRB No. 4 Tahun 2025"
PP11 = "PP No. 11 Tahun 2017 jo. PP No. 17 Tahun 2020"
PP49 = "PP No. 49 Tahun 2018"
PERBAN24 = "Peraturan BKN No. 24 Tahun 2017"
SE_BAKN = "Surat Edaran Kepala BAKN No. 01/SE/1977"
# a woman without a post in each region, from the sample directory (digit 15 of the NIP is 2)
FEMALE = {
    "kutai-timur": "198904162015072007",
    "bitung": "197605021998092044",
    "luwu-utara": "197111101994042089",
    "pesisir-barat": "198512152010052125",
    "kendari": "197603131999112162",
}
SKB = "SKB Menteri Agama, Menteri Ketenagakerjaan, dan Menteri PANRB"
KEPPRES = "Keputusan Presiden No. 2 Tahun 2025"
UU_PDP = "UU No. 27 Tahun 2022"
PERMENDAGRI_59 = "Permendagri No. 59 Tahun 2019"

PAST = date(2025, 12, 19)
D23, D24, D26 = date(2025, 12, 23), date(2025, 12, 24), date(2025, 12, 26)
D29, D30, D31 = date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31)
J2, J3, J5 = date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 5)
J6, J7, J8, J9 = date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 8), date(2026, 1, 9)
J10, J12 = date(2026, 1, 10), date(2026, 1, 12)

HOME = Location(text="Jl. Ahmad Yani 10", country="ID")
ABROAD = Location(text="Orchard Road, Singapura", country="SG")
# leave history recorded for 2024 and 2025 with nothing taken: 2 days carried into 2025 (12 − 10 cuti bersama)
HISTORY = UsageSnapshot(annual_leave_used={2024: 0, 2025: 0, 2026: 0})


@dataclass(frozen=True)
class Case:
    pack: str
    rule: str
    sources: tuple[str, ...]
    nip: str
    kind: str
    dates: tuple[date, ...]
    expect: str  # "allowed" or the refusal code
    where: str = "citations"  # citations | refusal | route | caps | obligations | leave_debit | staffing
    tier: Tier | None = None
    location: Location | None = None
    usage: UsageSnapshot = field(default_factory=UsageSnapshot)
    baseline_only: bool = False
    travel_purpose: TravelPurpose | None = None
    attachments: int = 0
    service_start: date | None = None  # the directory's service_start for `nip`, overriding the NIP's TMT
    extra_days: int = 0  # annual leave in a place hard to reach: calendar days of travel asked for

    @property
    def name(self) -> str:
        return f"{self.rule}-{self.expect}"


def common_cases(
    pack: str,
    se: str,
    *,
    staff: str,
    opd_head: str,
    pppk: str,
    young: str,
    span: tuple[date, date],
    flex: str,
    haji: tuple[str, date | None] | None = None,
) -> list[Case]:
    """The leave, calendar and procedure rules every regional pack carries, each with its own case."""
    flex_loc = HOME if flex == "WFA" else None
    pilgrim, started = haji or (young, None)
    return [
        Case(
            pack,
            f"{pack}.hari-kerja",
            (SKB, KEPPRES),
            staff,
            "CUTI_TAHUNAN",
            (J3,),
            "non_working_day",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.diajukan-sebelumnya",
            (se, PP11),
            staff,
            "CUTI_SAKIT",
            (PAST,),
            "past_date",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.satu-pengaturan-per-hari",
            (PERMEN, PP11),
            staff,
            "CUTI_SAKIT",
            (J5,),
            "already_approved_on_date",
            "refusal",
            usage=UsageSnapshot(own_approved_dates={J5: "WFH"}),
        ),
        Case(
            pack,
            f"{pack}.satu-ketentuan",
            (se, PERMEN),
            staff,
            flex,
            span,
            "dates_span_policies",
            "refusal",
            location=flex_loc,
        ),
        Case(
            pack,
            f"{pack}.jenjang-ke-atas",
            (se, PP11),
            opd_head,
            flex,
            (D29,),
            "allowed",
            "route",
            Tier.PPK,
            location=flex_loc,
        ),
        Case(
            pack,
            f"{pack}.rute-cuti",
            (PP11, PP49),
            staff,
            "CUTI_SAKIT",
            (J5,),
            "allowed",
            "route",
            Tier.UNIT_HEAD,
        ),
        Case(pack, f"{pack}.cuti-tahunan", (PP11, PP49), staff, "CUTI_TAHUNAN", (J5,), "allowed", usage=HISTORY),
        # sick leave counts calendar days, so a Friday–Monday span over the weekend is fine
        Case(
            pack,
            f"{pack}.cuti-sakit",
            (PP11, PP49),
            staff,
            "CUTI_SAKIT",
            (J9, J10, date(2026, 1, 11), J12),
            "allowed",
            attachments=1,
        ),
        # more than one day of sick leave needs a doctor's certificate
        Case(
            pack,
            f"{pack}.cuti-sakit.surat-dokter",
            (PP11, PERBAN24, PP49),
            staff,
            "CUTI_SAKIT",
            (J5, J6),
            "document_required",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.cuti-alasan-penting.bukti",
            (PERBAN24,),
            staff,
            "CUTI_ALASAN_PENTING",
            (J5,),
            "document_required",
            "refusal",
        ),
        # PNS only, with five years of service: a PPPK is refused with PP 49/2018's list of kinds
        Case(pack, f"{pack}.cltn", (PP11, PERBAN24, PP49), pppk, "CLTN", (J5,), "employee_type_not_allowed", "refusal"),
        # maternity leave asks for the doctor's or midwife's letter on the pregnancy
        Case(
            pack,
            f"{pack}.cuti-melahirkan.surat-keterangan",
            (SE_BAKN, PERBAN24),
            FEMALE[pack],
            "CUTI_MELAHIRKAN",
            (J5,),
            "document_required",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.cuti-alasan-penting",
            (PP11,),
            pppk,
            "CUTI_ALASAN_PENTING",
            (J5,),
            "employee_type_not_allowed",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.cuti-besar",
            (PP11,),
            young,
            "CUTI_BESAR",
            (J5,),
            "employee_type_not_allowed" if young == pppk else "service_too_short",
            "refusal",
        ),
        # under five years of service, cuti besar for a first hajj with the flight schedule attached
        Case(
            pack,
            f"{pack}.cuti-besar.ibadah-haji",
            (PP11, PERBAN24),
            pilgrim,
            "CUTI_BESAR",
            (J5,),
            "allowed",
            attachments=1,
            service_start=started,
        ),
        Case(
            pack,
            f"{pack}.cuti-melahirkan",
            (PP11, PP49),
            pppk,
            "CUTI_MELAHIRKAN",
            (J5,),
            "not_eligible",
            "refusal",
        ),
        Case(
            pack,
            f"{pack}.hak-cuti-tahunan",
            (PP11, KEPPRES),
            staff,
            "CUTI_TAHUNAN",
            (J5, J6, J7, J8, J9),
            "insufficient_leave_balance",
            "refusal",
            usage=UsageSnapshot(annual_leave_used={2026: 8}),
        ),
        Case(
            pack,
            f"{pack}.cuti-tahunan-sulit-perhubungan",
            (PP11, PERBAN24),
            staff,
            "CUTI_TAHUNAN",
            (J5, J6),
            "extra_days_exceeded",
            "refusal",
            usage=HISTORY,
            extra_days=13,
        ),
        Case(pack, f"{pack}.tenggat-persetujuan", (se,), staff, flex, (D29,), "allowed", location=flex_loc),
        Case(pack, f"{pack}.ajukan-ulang", (se,), staff, flex, (D29,), "allowed", location=flex_loc),
    ]


CASES: list[Case] = [
    # --- Kutai Timur ------------------------------------------------------------------------------------
    *common_cases(
        "kutai-timur",
        KUTIM_SE,
        staff=KUTIM_STAFF,
        opd_head=KUTIM_OPD_HEAD,
        pppk=KUTIM_PPPK,
        young=KUTIM_YOUNG,
        span=(D24, D29),
        flex="WFH",
    ),
    Case(
        "kutai-timur",
        "kutai-timur.masa-fleksibel",
        (KUTIM_SE, B531),
        KUTIM_STAFF,
        "WFH",
        (D29, D30, D31),
        "allowed",
    ),
    Case(
        "kutai-timur",
        "kutai-timur.kombinasi-pola-kerja",
        (KUTIM_SE,),
        KUTIM_STAFF,
        "WFA",
        (D30,),
        "allowed",
        location=HOME,
    ),
    Case(
        "kutai-timur",
        "kutai-timur.lokasi-wfa",
        (KUTIM_SE, PERMEN),
        KUTIM_STAFF,
        "WFA",
        (D29,),
        "location_required",
        "refusal",
    ),
    Case(
        "kutai-timur",
        "kutai-timur.pelayanan-tidak-terhenti",
        (KUTIM_SE,),
        KUTIM_STAFF,
        "WFH",
        (D29,),
        "allowed",
    ),
    Case("kutai-timur", "kutai-timur.informasi-perubahan-layanan", (KUTIM_SE,), KUTIM_STAFF, "WFH", (D29,), "allowed"),
    Case("kutai-timur", "kutai-timur.layanan-bergilir", (KUTIM_SE,), KUTIM_VITAL, "WFH", (D29,), "allowed"),
    Case(
        "kutai-timur",
        "kutai-timur.cuti-tahunan-selektif",
        (KUTIM_SE,),
        KUTIM_STAFF,
        "CUTI_TAHUNAN",
        (D29,),
        "allowed",
        usage=HISTORY,
    ),
    Case(
        "kutai-timur",
        "kutai-timur.rute-fleksibel",
        (KUTIM_SE,),
        KUTIM_STAFF,
        "WFH",
        (D29,),
        "allowed",
        "route",
        Tier.UNIT_HEAD,
    ),
    Case(
        "kutai-timur",
        "kutai-timur.pengawasan-kinerja",
        (KUTIM_SE,),
        KUTIM_STAFF,
        "WFH",
        (D29,),
        "allowed",
        "obligations",
    ),
    Case(
        "kutai-timur",
        "kutai-timur.minimum-layanan-vital",
        (KUTIM_SE,),
        KUTIM_VITAL,
        "WFH",
        (),
        "vital",
        "staffing",
    ),
    Case(
        "kutai-timur",
        "kutai-timur.minimum-pelayanan-langsung",
        (KUTIM_SE,),
        "197010051996022022",
        "WFH",
        (),
        "direct_service",
        "staffing",
    ),
    # --- Bitung -----------------------------------------------------------------------------------------
    *common_cases(
        "bitung",
        BITUNG_SE,
        staff=BITUNG_SUPPORT,
        opd_head="197201021995112073",
        pppk=BITUNG_PPPK_PW,
        young="199803092021072054",
        span=(D23, D24),
        flex="WFH",
    ),
    Case("bitung", "bitung.masa-fleksibel", (BITUNG_SE, B531), BITUNG_SUPPORT, "WFH", (D24, J2), "allowed"),
    Case("bitung", "bitung.skema-wfo-wfh-wfa", (BITUNG_SE, PERMEN), BITUNG_SUPPORT, "WFH", (D29,), "allowed"),
    Case(
        "bitung",
        "bitung.opd-vital-wfo",
        (BITUNG_SE,),
        BITUNG_VITAL,
        "WFH",
        (D29,),
        "vital_opd_wfo_only",
        "refusal",
    ),
    Case(
        "bitung",
        "bitung.lokasi-wfa",
        (BITUNG_SE, PERMEN),
        BITUNG_SUPPORT,
        "WFA",
        (D29,),
        "location_required",
        "refusal",
    ),
    Case(
        "bitung",
        "bitung.pelayanan-langsung-50-50",
        (BITUNG_SE,),
        BITUNG_DIRECT,
        "WFH",
        (D29,),
        "unit_cap_reached",
        "refusal",
        usage=UsageSnapshot(unit_flexible_by_date={D29: 2}),
    ),
    Case(
        "bitung",
        "bitung.pelayanan-langsung-50-50",
        (BITUNG_SE,),
        BITUNG_DIRECT,
        "WFA",
        (D29, D30),
        "allowed",
        "caps",
        location=HOME,
        usage=UsageSnapshot(unit_flexible_by_date={D29: 1}),
    ),
    Case("bitung", "bitung.layanan-esensial", (BITUNG_SE,), BITUNG_SUPPORT, "WFH", (D31,), "allowed"),
    Case(
        "bitung",
        "bitung.rute-fleksibel",
        (BITUNG_SE, PERMEN),
        BITUNG_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "route",
        Tier.OPD_HEAD,
    ),
    Case(
        "bitung",
        "bitung.izin-ppk-luar-negeri",
        (BITUNG_SE,),
        BITUNG_SUPPORT,
        "WFA",
        (D29,),
        "allowed",
        "route",
        Tier.PPK,
        location=ABROAD,
    ),
    Case(
        "bitung",
        "bitung.piket-cuti-bersama",
        (BITUNG_SE,),
        BITUNG_SUPPORT,
        "CUTI_TAHUNAN",
        (D26,),
        "non_working_day",
        "refusal",
    ),
    Case("bitung", "bitung.piket-opd-vital", (BITUNG_SE,), BITUNG_VITAL, "WFH", (D30,), "vital", "piket"),
    Case(
        "bitung",
        "bitung.rute-izin-luar-negeri",
        (BITUNG_SE,),
        BITUNG_SUPPORT,
        "IZIN_LUAR_NEGERI",
        (D26, date(2025, 12, 27), date(2025, 12, 28)),
        "allowed",
        "route",
        Tier.OPD_HEAD,
        location=ABROAD,
        travel_purpose="dinas",
    ),
    Case(
        "bitung",
        "bitung.cuti-perjalanan-pribadi",
        (BITUNG_SE, PP11),
        BITUNG_SUPPORT,
        "IZIN_LUAR_NEGERI",
        (D26, D29),
        "allowed",
        location=ABROAD,
        travel_purpose="pribadi",
    ),
    Case("bitung", "bitung.minimum-opd-vital", (BITUNG_SE,), BITUNG_VITAL, "WFH", (), "vital", "staffing"),
    Case(
        "bitung",
        "bitung.minimum-pelayanan-langsung",
        (BITUNG_SE,),
        BITUNG_DIRECT,
        "WFH",
        (),
        "direct_service",
        "staffing",
    ),
    # --- Luwu Utara -------------------------------------------------------------------------------------
    *common_cases(
        "luwu-utara",
        LUWU_SE,
        staff=LUWU_SUPPORT_F,
        opd_head=LUWU_OPD_HEAD,
        pppk=LUWU_PPPK_PW,
        young=LUWU_OPD_HEAD,
        span=(D24, D29),
        flex="WFA",
    ),
    Case(
        "luwu-utara",
        "luwu-utara.masa-wfa",
        (LUWU_SE, B531),
        LUWU_PPPK_PW,
        "WFA",
        (D29, D30, D31),
        "allowed",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.wfa-asn",
        (LUWU_SE,),
        LUWU_DIRECT,
        "WFH",
        (D29,),
        "kind_not_allowed",
        "refusal",
    ),
    Case(
        "luwu-utara",
        "luwu-utara.lokasi-wfa",
        (LUWU_SE,),
        LUWU_DIRECT,
        "WFA",
        (D29,),
        "location_required",
        "refusal",
    ),
    Case(
        "luwu-utara",
        "luwu-utara.pembagian-proporsional",
        (LUWU_SE,),
        LUWU_DIRECT,
        "WFA",
        (D29,),
        "allowed",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.pengawasan-atasan",
        (LUWU_SE,),
        LUWU_SUPPORT_F,
        "WFA",
        (D29,),
        "allowed",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.pekerjaan-mendesak",
        (LUWU_SE,),
        LUWU_SUPPORT_F,
        "WFA",
        (D30,),
        "allowed",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.pengaturan-internal",
        (LUWU_SE,),
        LUWU_SUPPORT_F,
        "WFA",
        (D31,),
        "allowed",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.rute-wfa",
        (LUWU_SE,),
        LUWU_DIRECT,
        "WFA",
        (D29,),
        "allowed",
        "route",
        Tier.OPD_HEAD,
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.kirim-lokasi",
        (LUWU_SE, UU_PDP),
        LUWU_DIRECT,
        "WFA",
        (D29,),
        "allowed",
        "obligations",
        location=HOME,
    ),
    Case(
        "luwu-utara",
        "luwu-utara.acuan-pelayanan-langsung",
        (LUWU_SE,),
        LUWU_DIRECT,
        "WFA",
        (),
        "direct_service",
        "staffing",
    ),
    Case(
        "luwu-utara",
        "luwu-utara.acuan-layanan-vital",
        (LUWU_SE,),
        "197111101994042089",
        "WFA",
        (),
        "vital",
        "staffing",
    ),
    # --- Pesisir Barat (WIB) ----------------------------------------------------------------------------
    *common_cases(
        "pesisir-barat",
        PESBAR_SE,
        staff=PESBAR_SUPPORT,
        opd_head="197001181993112145",
        pppk=PESBAR_DIRECT,
        young=PESBAR_DIRECT,
        haji=(PESBAR_SUPPORT, date(2023, 1, 2)),
        span=(D24, D29),
        flex="WFH",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.masa-fleksibel",
        (PESBAR_SE, B531),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.fleksibel-selektif",
        (PESBAR_SE,),
        PESBAR_SUPPORT,
        "WFA",
        (D30,),
        "allowed",
        location=HOME,
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.pelayanan-langsung-wfo",
        (PESBAR_SE,),
        PESBAR_DIRECT,
        "WFH",
        (D29,),
        "direct_service_wfo",
        "refusal",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.pelayanan-langsung-wfo",
        (PESBAR_SE,),
        PESBAR_VITAL,
        "WFA",
        (D29,),
        "direct_service_wfo",
        "refusal",
        location=HOME,
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.lokasi-wfa",
        (PESBAR_SE, PERMEN),
        PESBAR_SUPPORT,
        "WFA",
        (D29,),
        "location_required",
        "refusal",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.bukan-hak",
        (PESBAR_SE, PERMEN),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.target-kinerja",
        (PESBAR_SE,),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.rute-fleksibel",
        (PESBAR_SE,),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "route",
        Tier.UNIT_HEAD,
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.e-presensi",
        (PESBAR_SE,),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "obligations",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.laporan-kinerja",
        (PESBAR_SE,),
        PESBAR_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "obligations",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.pelayanan-langsung-hadir",
        (PESBAR_SE,),
        PESBAR_DIRECT,
        "WFH",
        (),
        "direct_service",
        "staffing",
    ),
    Case(
        "pesisir-barat",
        "pesisir-barat.layanan-vital-hadir",
        (PESBAR_SE,),
        PESBAR_VITAL,
        "WFH",
        (),
        "vital",
        "staffing",
    ),
    # --- Kendari ----------------------------------------------------------------------------------------
    *common_cases(
        "kendari",
        KENDARI_SE,
        staff=KENDARI_SUPPORT,
        opd_head="197209011995051181",
        pppk=KENDARI_PPPK,
        young=KENDARI_YOUNG_PNS,
        span=(D24, D29),
        flex="WFH",
    ),
    Case("kendari", "kendari.masa-fleksibel", (KENDARI_SE, B531), KENDARI_SUPPORT, "WFH", (D29, D30), "allowed"),
    Case(
        "kendari",
        "kendari.kombinasi-wfo-wfh-wfa",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "WFA",
        (D29,),
        "allowed",
        location=HOME,
    ),
    Case(
        "kendari",
        "kendari.lokasi-wfa",
        (KENDARI_SE, PERMEN),
        KENDARI_SUPPORT,
        "WFA",
        (D29,),
        "location_required",
        "refusal",
    ),
    Case("kendari", "kendari.layanan-strategis", (KENDARI_SE,), KENDARI_VITAL, "WFH", (D29,), "allowed"),
    Case("kendari", "kendari.spbe-pengaduan", (KENDARI_SE,), KENDARI_DIRECT, "WFH", (D31,), "allowed"),
    Case(
        "kendari",
        "kendari.rute-fleksibel",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "route",
        Tier.OPD_HEAD,
    ),
    Case(
        "kendari",
        "kendari.izin-wali-kota-wfa-luar-negeri",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "WFA",
        (D29,),
        "allowed",
        "route",
        Tier.PPK,
        location=ABROAD,
    ),
    Case(
        "kendari",
        "kendari.rute-cuti-tahunan",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "CUTI_TAHUNAN",
        (D29,),
        "allowed",
        "route",
        Tier.OPD_HEAD,
        usage=HISTORY,
    ),
    Case(
        "kendari",
        "kendari.izin-wali-kota-cuti-tahunan",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "CUTI_TAHUNAN",
        (D29,),
        "allowed",
        "route",
        Tier.PPK,
        usage=HISTORY,
    ),
    Case(
        "kendari",
        "kendari.laporan-aktivitas-harian",
        (KENDARI_SE,),
        KENDARI_SUPPORT,
        "WFH",
        (D29,),
        "allowed",
        "obligations",
    ),
    Case(
        "kendari",
        "kendari.minimum-layanan-vital",
        (KENDARI_SE,),
        KENDARI_VITAL,
        "WFH",
        (),
        "vital",
        "staffing",
    ),
    Case(
        "kendari",
        "kendari.minimum-pelayanan-langsung",
        (KENDARI_SE,),
        KENDARI_DIRECT,
        "WFH",
        (),
        "direct_service",
        "staffing",
    ),
    # --- national baseline (flexible work outside windows; leave where a region has no pack yet) --------
    Case("national-baseline", "baseline.fleksibel-lokasi", (PERMEN,), KUTIM_STAFF, "WFH", (J5, J6), "allowed"),
    Case(
        "national-baseline",
        "baseline.lokasi-wfa",
        (PERMEN,),
        KUTIM_STAFF,
        "WFA",
        (J5,),
        "location_required",
        "refusal",
    ),
    Case(
        "national-baseline",
        "baseline.dua-hari-per-minggu",
        (PERMEN,),
        KUTIM_STAFF,
        "WFH",
        (J5, J6, J7),
        "weekly_flexible_limit",
        "refusal",
    ),
    Case(
        "national-baseline",
        "baseline.dua-hari-per-minggu",
        (PERMEN,),
        KENDARI_SUPPORT,
        "WFA",
        (J8,),
        "weekly_flexible_limit",
        "refusal",
        location=HOME,
        usage=UsageSnapshot(own_approved_dates={J5: "WFH"}, own_pending_flexible_dates=frozenset({J7})),
    ),
    Case("national-baseline", "baseline.bukan-hak", (PERMEN,), BITUNG_VITAL, "WFH", (J5,), "allowed"),
    Case(
        "national-baseline",
        "baseline.rute-fleksibel",
        (PERMEN,),
        KUTIM_STAFF,
        "WFH",
        (J5,),
        "allowed",
        "route",
        Tier.UNIT_HEAD,
    ),
    Case(
        "national-baseline",
        "baseline.rute-cuti",
        (PP11, PP49),
        KUTIM_STAFF,
        "CUTI_SAKIT",
        (J5,),
        "allowed",
        "route",
        Tier.UNIT_HEAD,
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.jenjang-ke-atas",
        (PERMEN, PP11),
        KUTIM_OPD_HEAD,
        "WFH",
        (J5,),
        "allowed",
        "route",
        Tier.PPK,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-tahunan",
        (PP11, PP49),
        KUTIM_STAFF,
        "CUTI_TAHUNAN",
        (J5,),
        "allowed",
        usage=HISTORY,
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-sakit",
        (PP11, PP49),
        KUTIM_PPPK,
        "CUTI_SAKIT",
        (J5,),
        "allowed",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-alasan-penting",
        (PP11,),
        KUTIM_PPPK,
        "CUTI_ALASAN_PENTING",
        (J5,),
        "employee_type_not_allowed",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-besar",
        (PP11,),
        KUTIM_YOUNG,
        "CUTI_BESAR",
        (J5,),
        "service_too_short",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-sakit.surat-dokter",
        (PP11, PERBAN24, PP49),
        KUTIM_PPPK,
        "CUTI_SAKIT",
        (J5, J6),
        "document_required",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-alasan-penting.bukti",
        (PERBAN24,),
        KUTIM_STAFF,
        "CUTI_ALASAN_PENTING",
        (J5,),
        "document_required",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-besar.ibadah-haji",
        (PP11, PERBAN24),
        KUTIM_YOUNG,
        "CUTI_BESAR",
        (J5,),
        "allowed",
        baseline_only=True,
        attachments=1,
    ),
    Case(
        "national-baseline",
        "baseline.cltn",
        (PP11, PP49),
        KUTIM_PPPK,
        "CLTN",
        (J5,),
        "employee_type_not_allowed",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-melahirkan.surat-keterangan",
        (SE_BAKN,),
        FEMALE["kutai-timur"],
        "CUTI_MELAHIRKAN",
        (J5,),
        "document_required",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-melahirkan",
        (PP11, PP49),
        KUTIM_STAFF,
        "CUTI_MELAHIRKAN",
        (J5,),
        "not_eligible",
        "refusal",
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.hak-cuti-tahunan",
        (PP11, KEPPRES),
        KUTIM_STAFF,
        "CUTI_TAHUNAN",
        (J5,),
        "allowed",
        "leave_debit",
        usage=HISTORY,
        baseline_only=True,
    ),
    Case(
        "national-baseline",
        "baseline.cuti-tahunan-sulit-perhubungan",
        (PP11, PERBAN24),
        KUTIM_STAFF,
        "CUTI_TAHUNAN",
        (J5,),
        "allowed",
        usage=HISTORY,
        baseline_only=True,
        extra_days=12,
    ),
    Case("national-baseline", "baseline.tenggat-persetujuan", (PERMEN,), KUTIM_STAFF, "WFH", (J5,), "allowed"),
    Case("national-baseline", "baseline.ajukan-ulang", (PERMEN,), KUTIM_STAFF, "WFH", (J5,), "allowed"),
    Case(
        "national-baseline",
        "baseline.hari-kerja",
        (SKB, KEPPRES),
        KUTIM_STAFF,
        "WFH",
        (J10,),
        "non_working_day",
        "refusal",
    ),
    Case(
        "national-baseline",
        "baseline.rute-izin-luar-negeri",
        (PERMENDAGRI_59, PP11),
        KENDARI_SUPPORT,
        "IZIN_LUAR_NEGERI",
        (J3, J5),
        "allowed",
        "route",
        Tier.PPK,
        location=ABROAD,
        travel_purpose="dinas",
    ),
    Case(
        "national-baseline",
        "baseline.cuti-perjalanan-pribadi",
        (PERMENDAGRI_59, PP11),
        KUTIM_STAFF,
        "IZIN_LUAR_NEGERI",
        (J3, J5),
        "allowed",
        location=ABROAD,
        travel_purpose="pribadi",
    ),
    Case(
        "national-baseline",
        "baseline.diajukan-sebelumnya",
        (PERMEN, PP11),
        KUTIM_STAFF,
        "WFH",
        (PAST,),
        "past_date",
        "refusal",
    ),
    Case(
        "national-baseline",
        "baseline.satu-pengaturan-per-hari",
        (PERMEN, PP11),
        KUTIM_STAFF,
        "WFH",
        (J5,),
        "already_approved_on_date",
        "refusal",
        usage=UsageSnapshot(own_approved_dates={J5: "CUTI_SAKIT"}),
    ),
    Case(
        "national-baseline",
        "baseline.satu-ketentuan",
        (PERMEN, B531),
        KENDARI_SUPPORT,
        "WFH",
        (D24, D29),
        "dates_span_policies",
        "refusal",
    ),
]


def _baseline_only() -> PackSet:
    return PackSet([packs().baseline])


def _cited(case: Case, evaluation: Evaluation) -> list[Citation]:
    if case.where == "refusal":
        assert evaluation.refusal is not None
        return list(evaluation.refusal.citations)
    if case.where == "route":
        return [step.citation for step in evaluation.route if step.tier == case.tier]
    if case.where == "caps":
        return [cap.citation for cap in evaluation.caps]
    if case.where == "obligations":
        return [duty.citation for duty in evaluation.obligations]
    if case.where == "leave_debit":
        return [evaluation.leave_debit.citation] if evaluation.leave_debit else []
    return list(evaluation.citations)


def _with_service_start(nip: str, started: date) -> DirectoryIndex:
    return DirectoryIndex(p.model_copy(update={"service_start": started}) if p.nip == nip else p for p in people())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_is_applied_and_cited(case: Case) -> None:
    if case.where == "piket":
        loaded = packs().get(case.pack)
        assert loaded is not None
        requester = person(case.nip)
        assert requester.opd_class == case.expect
        rule = piket_days(loaded, requester.opd_class)[case.dates[0]]
        assert rule.id == case.rule
        citations = [loaded.cite(rule)]
    elif case.where == "staffing":
        loaded = packs().get(case.pack)
        assert loaded is not None
        requester = person(case.nip)
        assert requester.opd_class == case.expect
        minimum = staffing_minimum_for(loaded, requester.opd_class)
        assert minimum is not None and minimum.id == case.rule
        citations = [loaded.cite(minimum)]
    else:
        evaluation = judge(
            case.nip,
            case.kind,
            case.dates,
            location=case.location,
            usage=case.usage,
            packset=_baseline_only() if case.baseline_only else None,
            travel_purpose=case.travel_purpose,
            attachments=case.attachments,
            extra_days=case.extra_days,
            index=_with_service_start(case.nip, case.service_start) if case.service_start else None,
        )
        outcome = evaluation.refusal.code if evaluation.refusal else evaluation.outcome
        detail = evaluation.refusal.message if evaluation.refusal else ""
        assert outcome == case.expect, detail
        citations = _cited(case, evaluation)
        if evaluation.refusal is not None:
            assert evaluation.refusal.message.strip()
    matching = [c for c in citations if c.rule_id == case.rule]
    assert matching, f"{case.rule} not cited; got {[c.rule_id for c in citations]}"
    citation = matching[0]
    assert citation.pack_id == case.pack
    assert citation.pack_version == packs().get(case.pack).version  # type: ignore[union-attr]
    for source in case.sources:
        assert source in citation.source, f"{source!r} missing from {citation.source!r}"
    assert citation.clause.strip()


def test_every_rule_of_every_pack_has_a_case() -> None:
    defined = {rule.id for loaded in packs() for _, rule in loaded.pack.rules()}
    covered = {case.rule for case in CASES}
    assert defined - covered == set(), "rules without a test case"
    assert covered - defined == set(), "cases for rules that no pack defines"
