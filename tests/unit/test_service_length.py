"""Masa kerja: from the directory's service_start, else from a PNS NIP's TMT; none for a PPPK without one."""

from __future__ import annotations

from datetime import date

from contracts.directory import Person
from policy.service import ServiceLength, service_length, years_of_service


def someone(nip: str, employee_type: str = "PNS", service_start: date | None = None) -> Person:
    return Person(
        nip=nip,
        name="Uji",
        employee_type=employee_type,
        region="kendari",
        opd_code="DINKES",
        opd_name="Dinas Kesehatan",
        opd_class="vital",
        unit_code="DINKES-U1",
        unit_name="Bidang 1",
        service_start=service_start,
    )


def test_a_pns_without_service_start_counts_from_the_nip_tmt() -> None:
    pns = someone("199303062016011035")  # TMT January 2016
    assert pns.service_since == date(2016, 1, 1)
    assert service_length(pns, date(2025, 12, 22)) == ServiceLength(years=9, months=11)
    assert service_length(pns, date(2026, 1, 1)) == ServiceLength(years=10, months=0)
    assert service_length(pns, date(2026, 1, 1)).label() == "10 tahun 0 bulan"  # type: ignore[union-attr]


def test_service_start_overrides_the_tmt() -> None:
    pns = someone("199303062016011035", service_start=date(2021, 6, 15))
    assert years_of_service(pns, date(2026, 6, 14)) == 4
    assert years_of_service(pns, date(2026, 6, 15)) == 5


def test_a_pppk_has_a_service_length_only_from_service_start() -> None:
    assert service_length(someone("198608112011051009", "PPPK"), date(2025, 12, 1)) is None
    pppk = someone("198608112011051009", "PPPK", service_start=date(2022, 3, 1))
    assert service_length(pppk, date(2025, 12, 1)) == ServiceLength(years=3, months=9)
