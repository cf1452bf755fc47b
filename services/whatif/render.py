"""The simulation report and the pack diff as tables a BKPSDM officer or an inspector can read (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.whatif.diff import CHANGE_LABELS, SECTION_LABELS

OUTCOME_LABELS = {"allowed": "diizinkan", "refused": "ditolak", None: "-"}
CHANGE_NAMES = {
    "outcome": "keputusan",
    "code": "alasan",
    "route": "rute",
    "citations": "kutipan",
    "quota": "kuota",
    "leave_debit": "cuti",
}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _side(side: dict[str, Any]) -> str:
    if side.get("outcome") is None:
        return "-"
    text = OUTCOME_LABELS[side["outcome"]]
    if side.get("code"):
        stage = {"approval": " saat persetujuan akhir", "resubmit": " saat diajukan ulang"}.get(
            side.get("stage") or "", ""
        )
        text += f" ({side['code']}{stage})"
    if side.get("route"):
        text += "\n" + " → ".join(side["route"])
    if side.get("status"):
        text += f"\nstatus: {side['status']}"
    return text


def render_simulation(report: dict[str, Any], *, limit: int = 50) -> RenderableType:
    draft = report["draft"]
    summary = report["summary"]
    regions = ", ".join(report["regions"]) if report.get("regions") else "semua wilayah"
    header = Text.assemble(
        ("Simulasi paket ", "bold"),
        (f"{draft['id']} {draft['version']}", "bold green"),
        f" — {draft['name']}\n",
        f"periode {report['period']['from']} s.d. {report['period']['to']}; wilayah: {regions}; "
        f"toko peristiwa sampai posisi {report['up_to_position']}\n",
        f"sha256 draf: {draft['sha256']}\n",
        (f"{report['total']} permohonan tercatat dinilai ulang; {report['changed']} berubah", "bold"),
    )
    totals = _table("Ringkasan", "", "dulu (tercatat)", "menurut draf")
    totals.add_row("diizinkan", str(summary["then"]["allowed"]), str(summary["draft"]["allowed"]))
    totals.add_row("ditolak", str(summary["then"]["refused"]), str(summary["draft"]["refused"]))
    totals.add_row("baru ditolak", "", str(summary["newly_refused"]))
    totals.add_row("baru diizinkan", "", str(summary["newly_allowed"]))
    totals.add_row("rute berubah", "", str(summary["route_changed"]))
    for code, count in summary["draft_refusals_by_code"].items():
        totals.add_row(f"ditolak draf: {code}", "", str(count))

    parts: list[RenderableType] = [header, totals]
    fidelity = report.get("fidelity")
    if fidelity is not None:
        style = "green" if not fidelity["mismatched"] else "bold red"
        line = (
            f"Penilaian ulang dengan paket yang berlaku saat itu mereproduksi {fidelity['reproduced']} dari "
            f"{fidelity['checked']} keputusan tercatat."
        )
        if fidelity["mismatched"]:
            line += " Tidak sama: " + ", ".join(fidelity["mismatched"][:10])
        parts.append(Text(line, style=style))

    changed = [item for item in report["items"] if item["changed"]]
    if changed:
        table = _table(
            f"Permohonan yang berubah ({len(changed)}" + (f", {limit} pertama)" if len(changed) > limit else ")"),
            "permohonan",
            "pengaju / unit",
            "jenis, tanggal",
            "dulu",
            "menurut draf",
            "perubahan",
        )
        for item in changed[:limit]:
            table.add_row(
                item["request_id"][:8],
                f"{item['requester_name']} ({item['requester_nip']})\n{item['opd_code']} / {item['unit_code']}",
                f"{item['kind']}\n{', '.join(item['dates'])}",
                _side(item["then"]),
                _side(item["draft"]),
                ", ".join(CHANGE_NAMES.get(c, c) for c in item["changes"]),
            )
        parts.append(table)

    if report["by_opd"]:
        table = _table(
            "Per perangkat daerah", "wilayah", "OPD", "permohonan", "berubah", "baru ditolak", "rute berubah"
        )
        for row in report["by_opd"]:
            table.add_row(
                row["region"],
                f"{row['opd_code']} — {row['opd_name']}",
                str(row["requests"]),
                str(row["changed"]),
                str(row["newly_refused"]),
                str(row["route_changed"]),
            )
        parts.append(table)
    if report["by_day"]:
        table = _table(
            "Per hari", "tanggal", "permohonan", "berubah", "baru ditolak", "tidak di kantor (dulu)", "(draf)"
        )
        for row in report["by_day"]:
            table.add_row(
                row["date"],
                str(row["requests"]),
                str(row["changed"]),
                str(row["newly_refused"]),
                str(row["approved_away_then"]),
                str(row["approved_away_draft"]),
            )
        parts.append(table)

    staffing = report["staffing"]
    table = _table("Unit di bawah minimum kehadiran", "kelas OPD", "dulu", "menurut draf")
    for opd_class, label in (("vital", "layanan vital"), ("direct_service", "pelayanan langsung")):
        table.add_row(label, str(staffing["then"][opd_class]), str(staffing["draft"][opd_class]))
    parts.append(table)
    parts += [Text(f"• {note}", style="italic") for note in report["notes"]]
    return Group(*parts)


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return str(value)


def render_diff(diff: dict[str, Any]) -> RenderableType:
    a, b = diff["a"], diff["b"]
    counts = diff["summary"]
    header = Text.assemble(
        ("Perbedaan paket ", "bold"),
        (f"{a['id']} {a['version']}", "bold"),
        " → ",
        (f"{b['id']} {b['version']}", "bold green"),
        f"\n{counts['added']} aturan ditambah, {counts['removed']} dihapus, {counts['changed']} diubah, "
        f"{counts['unchanged']} tetap",
    )
    parts: list[RenderableType] = [header]
    if diff["same"]:
        parts.append(Text("Kedua teks paket identik (sha256 sama).", style="green"))
        return Group(*parts)
    if diff["header"]:
        table = _table("Identitas paket", "isian", "sebelum", "sesudah")
        for row in diff["header"]:
            table.add_row(row["field"], _value(row["before"]), _value(row["after"]))
        parts.append(table)
    if diff["legal_basis"]:
        table = _table("Dasar hukum", "id", "perubahan", "sebelum", "sesudah")
        for row in diff["legal_basis"]:
            table.add_row(
                row["id"],
                CHANGE_LABELS[row["change"]],
                (row["before"] or {}).get("instrument", "-"),
                (row["after"] or {}).get("instrument", "-"),
            )
        parts.append(table)
    if diff["rules"]:
        table = _table("Aturan", "aturan", "perubahan", "sebelum", "sesudah", "isian yang berubah")
        for row in diff["rules"]:
            before, after = row["before"], row["after"]
            fields = "\n".join(
                f"{f['field']}: {_value(f['before'])} → {_value(f['after'])}"
                for f in row["fields"]
                if f["field"] != "clause"
            )
            table.add_row(
                f"{row['rule_id']}\n({SECTION_LABELS.get(row['section'], row['section'])})",
                CHANGE_LABELS[row["change"]],
                f"{before['clause']}\n[{before['source']}]" if before else "-",
                f"{after['clause']}\n[{after['source']}]" if after else "-",
                fields or "-",
            )
        parts.append(table)
    return Group(*parts)
