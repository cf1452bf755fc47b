"""Working days from the `holidays` package: weekends, public holidays and cuti bersama."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from policy.calendar import (
    count_cuti_bersama,
    cuti_bersama,
    format_tanggal,
    is_working_day,
    local_date,
    non_working_reason,
    public_holidays,
    working_days,
)


def test_christmas_2025_and_its_cuti_bersama() -> None:
    assert date(2025, 12, 25) in public_holidays(2025)
    assert date(2025, 12, 26) in cuti_bersama(2025)
    assert date(2025, 12, 26) not in public_holidays(2025)
    assert not is_working_day(date(2025, 12, 26))


def test_window_days_are_working_days() -> None:
    for day in (
        date(2025, 12, 24),
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 2),
    ):
        assert is_working_day(day), day


def test_reasons_name_the_day_and_the_holiday() -> None:
    assert non_working_reason(date(2025, 12, 29)) is None
    assert (
        non_working_reason(date(2025, 12, 25)) == "Kamis, 25 Desember 2025 adalah hari libur nasional (Hari Raya Natal)"
    )
    reason = non_working_reason(date(2025, 12, 26))
    assert reason is not None and "Jumat, 26 Desember 2025" in reason and "cuti bersama" in reason
    assert non_working_reason(date(2025, 12, 27)) == "Sabtu, 27 Desember 2025 adalah hari libur akhir pekan"
    assert (
        non_working_reason(date(2026, 1, 1)) == "Kamis, 1 Januari 2026 adalah hari libur nasional (Tahun Baru Masehi)"
    )


def test_cuti_bersama_counts_only_weekdays() -> None:
    assert count_cuti_bersama(2025) == len(cuti_bersama(2025)) == 11
    assert all(d.weekday() < 5 for d in cuti_bersama(2026))
    assert count_cuti_bersama(2026) == 8


def test_working_days_filters_a_span() -> None:
    span = [date(2025, 12, 22) + timedelta(days=i) for i in range(14)]
    assert working_days(span) == [
        date(2025, 12, 22),
        date(2025, 12, 23),
        date(2025, 12, 24),
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 2),
    ]


def test_format_tanggal() -> None:
    assert format_tanggal(date(2026, 1, 2)) == "Jumat, 2 Januari 2026"


def test_local_date_uses_the_region_zone() -> None:
    # 23:30 WIB on 28 Dec is already 29 Dec in WITA
    moment = datetime(2025, 12, 28, 16, 30, tzinfo=UTC)
    assert local_date(moment, "Asia/Jakarta") == date(2025, 12, 28)
    assert local_date(moment, "Asia/Makassar") == date(2025, 12, 29)
    assert local_date(date(2025, 12, 28), "Asia/Makassar") == date(2025, 12, 28)
    with pytest.raises(ValueError):
        local_date(datetime(2025, 12, 28, 9, 0), "Asia/Makassar")
