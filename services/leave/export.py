"""The year's leave decisions as CSV, for upload into the personnel system (SIASN and the like).

One row per leave request whose final decision fell in the year: granted (`approve`), granted with changed
dates (`change`), deferred (`defer`) or refused (`reject`). Decisions are read as the strings the log holds,
so kinds of decision added later flow through unchanged. The columns are documented in README.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.common import RequestKind
from policy.calendar import is_working_day

COLUMNS = (
    "nip",
    "nama",
    "jenis_cuti",
    "tanggal_mulai",
    "tanggal_selesai",
    "tanggal",
    "hari_kerja",
    "keputusan",
    "status",
    "pemutus_nip",
    "pemutus_nama",
    "atas_nama_nip",
    "atas_nama_nama",
    "tanggal_keputusan",
    "nomor_dokumen",
)
FINAL_DECISIONS = frozenset({"approve", "change", "defer", "reject"})
FINAL_STATUSES = frozenset({"APPROVED", "REJECTED", "DEFERRED"})


@dataclass(frozen=True)
class ExportRow:
    values: tuple[str, ...]
    decided_on: date


def final_decision(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The decision that ended the request: the last recorded one in its last round, when the request ended."""
    if request["status"] not in FINAL_STATUSES:
        return None
    decisions = [d for d in (request["decisions"] or []) if d.get("round", request["round"]) == request["round"]]
    finals = [d for d in decisions if d.get("decision") in FINAL_DECISIONS]
    return finals[-1] if finals else None


def export_row(
    request: Mapping[str, Any], names: Mapping[str, str], document_number: str | None, zone: str
) -> ExportRow | None:
    decision = final_decision(request)
    if decision is None:
        return None
    decided_at = datetime.fromisoformat(decision["decided_at"])
    decided_on = decided_at.astimezone(ZoneInfo(zone)).date()
    dates = sorted(_as_date(d) for d in (decision.get("dates") or request["dates"]))
    kind = RequestKind(request["kind"])
    working = [d for d in dates if is_working_day(d)]
    on_behalf = decision.get("on_behalf_of") or ""
    return ExportRow(
        values=(
            request["requester_nip"],
            request["requester_name"],
            kind.value,
            dates[0].isoformat(),
            dates[-1].isoformat(),
            ";".join(d.isoformat() for d in dates),
            str(len(working)),
            decision["decision"],
            request["status"],
            decision["actor"],
            names.get(decision["actor"], ""),
            on_behalf,
            names.get(on_behalf, "") if on_behalf else "",
            decided_on.isoformat(),
            document_number or "",
        ),
        decided_on=decided_on,
    )


def export_csv(rows: Iterable[ExportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: (r.decided_on, r.values[0], r.values[3])):
        writer.writerow(row.values)
    return out.getvalue()


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def leave_export(pool: Any, *, year: int, region: str | None) -> str:
    """Read the request and letter read models and build the year's CSV (all regions when `region` is None)."""
    requests = await pool.fetch(
        "SELECT * FROM rm_requests WHERE ($1::text IS NULL OR region = $1) AND status = ANY($2::text[]) "
        "AND kind = ANY($3::text[]) ORDER BY submitted_at",
        region,
        sorted(FINAL_STATUSES),
        sorted(k.value for k in RequestKind if k.is_leave),
    )
    nips: set[str] = set()
    for r in requests:
        for d in r["decisions"] or []:
            nips.add(d["actor"])
            if d.get("on_behalf_of"):
                nips.add(d["on_behalf_of"])
    names = {
        n["nip"]: n["name"]
        for n in await pool.fetch("SELECT nip, name FROM rm_people WHERE nip = ANY($1::text[])", sorted(nips))
    }
    numbers: dict[Any, str] = {}
    for doc in await pool.fetch(
        "SELECT request_id, number FROM documents WHERE request_id = ANY($1::uuid[]) AND revoked_at IS NULL "
        "ORDER BY request_id, round, rendered_at",
        [r["request_id"] for r in requests],
    ):
        numbers.setdefault(doc["request_id"], doc["number"])  # the letter of grant comes before any later form
    rows = []
    for r in requests:
        row = export_row(r, names, numbers.get(r["request_id"]), r["timezone"] or "Asia/Jakarta")
        if row is not None and row.decided_on.year == year:
            rows.append(row)
    return export_csv(rows)
