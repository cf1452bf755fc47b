"""The year's leave export: one row per request its final decision ended, decisions read as recorded strings."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.leave.export import COLUMNS, export_csv, export_row

NAMES = {"198003132002021001": "Lestari Wulan", "197702182002011003": "Hendra Wulan"}


def request(status: str, *decisions: dict[str, Any], dates: tuple[str, ...] = ("2026-01-05", "2026-01-06")) -> dict:
    return {
        "requester_nip": "199303062016011035",
        "requester_name": "Wulan Putri",
        "kind": "CUTI_TAHUNAN",
        "dates": list(dates),
        "status": status,
        "round": 1,
        "decisions": list(decisions),
    }


def decided(decision: str, at: str = "2025-12-31T17:30:00+00:00", **extra: Any) -> dict[str, Any]:
    return {"round": 1, "decision": decision, "actor": "198003132002021001", "decided_at": at, **extra}


def test_a_grant_is_one_row_with_its_working_days_and_local_decision_date() -> None:
    recommended = {**decided("approve", "2025-12-30T01:00:00+00:00"), "actor": "197702182002011003"}
    row = export_row(request("APPROVED", recommended, decided("approve")), NAMES, "800/12/BKPSDM/2026", "Asia/Makassar")
    assert row is not None
    values = dict(zip(COLUMNS, row.values, strict=True))
    assert values["keputusan"] == "approve" and values["pemutus_nama"] == "Lestari Wulan"
    assert values["hari_kerja"] == "2" and values["tanggal"] == "2026-01-05;2026-01-06"
    # 17:30 UTC on 31 December is already 1 January in Sangatta (WITA)
    assert values["tanggal_keputusan"] == "2026-01-01" and row.decided_on.year == 2026
    assert values["nomor_dokumen"] == "800/12/BKPSDM/2026"


def test_changed_deferred_and_refused_flow_through_as_recorded() -> None:
    changed = export_row(request("APPROVED", decided("change", dates=["2026-01-06"])), NAMES, None, "Asia/Makassar")
    assert changed is not None and changed.values[COLUMNS.index("tanggal")] == "2026-01-06"
    assert changed.values[COLUMNS.index("hari_kerja")] == "1"
    deferred = export_row(request("DEFERRED", decided("defer")), NAMES, None, "Asia/Makassar")
    assert deferred is not None and deferred.values[COLUMNS.index("keputusan")] == "defer"
    refused = export_row(
        request("REJECTED", decided("reject", on_behalf_of="197702182002011003")), NAMES, None, "Asia/Makassar"
    )
    assert refused is not None and refused.values[COLUMNS.index("atas_nama_nama")] == "Hendra Wulan"


def test_requests_still_open_or_withdrawn_are_not_exported() -> None:
    assert export_row(request("PENDING", decided("approve")), NAMES, None, "Asia/Jakarta") is None
    assert export_row(request("CANCELLED", decided("approve")), NAMES, None, "Asia/Jakarta") is None
    assert export_row(request("REJECTED", decided("return")), NAMES, None, "Asia/Jakarta") is None


def test_the_csv_has_the_documented_header_and_is_ordered_by_decision_date() -> None:
    late = export_row(request("APPROVED", decided("approve", "2025-12-20T01:00:00+00:00")), NAMES, None, "UTC")
    early = export_row(request("REJECTED", decided("reject", "2025-03-02T01:00:00+00:00")), NAMES, None, "UTC")
    assert late is not None and early is not None
    rows = list(csv.reader(io.StringIO(export_csv([late, early]))))
    assert tuple(rows[0]) == COLUMNS
    assert [r[COLUMNS.index("keputusan")] for r in rows[1:]] == ["reject", "approve"]
