"""`lentur policy check PACK`: validate a pack file and show its rules as tables a BKPSDM officer can read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from contracts.policy_pack import ALL_OPD_CLASSES, AnnualLeaveRule, Applicability, PolicyPack, Rule
from policy.calendar import format_tanggal
from policy.packs import LoadedPack, PackInvalid, load_pack


def check_pack(path: Path) -> tuple[bool, RenderableType]:
    """(True, tables) for a valid pack; (False, the line and reason) otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return False, Text(f"{path}: tidak dapat dibaca ({exc.strerror or exc})", style="bold red")
    try:
        loaded = load_pack(raw)
    except PackInvalid as exc:
        lines = [Text(f"{path}: paket DITOLAK", style="bold red")]
        lines += [Text(f"  baris {line}: {reason}", style="red") for line, reason in exc.problems]
        return False, Group(*lines)
    return True, render_pack(loaded)


def render_pack(loaded: LoadedPack) -> RenderableType:
    pack = loaded.pack
    header = Text.assemble(
        ("Paket ", "bold"),
        (f"{pack.id} {pack.version}", "bold green"),
        f" — {pack.name}\n",
        f"cakupan: {pack.scope}   wilayah: {pack.region or '-'}   zona waktu: {pack.timezone}\n",
        f"sha256: {loaded.sha256}\n",
        (f"{len(loaded.citations)} aturan, semuanya dengan dasar hukum", "green"),
    )
    parts: list[RenderableType] = [
        header,
        _legal_basis(pack),
        _windows(pack),
        _flexible(pack),
        _routing(pack),
    ]
    parts += [_leave(pack), _duties(pack), _other(pack)]
    return Group(*parts)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _names(values: Iterable[object] | None) -> str:
    if values is None:
        return "semua"
    return ", ".join(sorted(str(v) for v in values)) or "-"


def _when(when: Applicability) -> str:
    parts = []
    if when.kinds is not None:
        parts.append(f"jenis {_names(when.kinds)}")
    if when.employee_types is not None:
        parts.append(f"pegawai {_names(when.employee_types)}")
    if when.opd_classes is not None:
        parts.append(f"kelas OPD {_names(when.opd_classes)}")
    if when.abroad is not None:
        parts.append("luar negeri" if when.abroad else "dalam negeri")
    if when.in_window is not None:
        parts.append("dalam masa SE" if when.in_window else "di luar masa SE")
    if when.travel_purpose is not None:
        parts.append(f"perjalanan {when.travel_purpose}")
    return "; ".join(parts) or "selalu"


def _cite(pack: PolicyPack, rule: Rule) -> str:
    return f"{rule.id}\n{pack.source_of(rule)}"


def _legal_basis(pack: PolicyPack) -> Table:
    table = _table("Dasar hukum", "id", "instrumen", "tanggal", "penandatangan")
    for basis in pack.legal_basis:
        table.add_row(
            basis.id,
            basis.instrument + (f"\n{basis.title}" if basis.title else ""),
            format_tanggal(basis.issued_on) if basis.issued_on else "-",
            basis.signatory or "-",
        )
    return table


def _spans(days: list[date]) -> str:
    out: list[str] = []
    start = prev = None
    for day in sorted(days):
        if start is None or prev is None or day != prev + timedelta(days=1):
            if start is not None and prev is not None:
                out.append(_span(start, prev))
            start = day
        prev = day
    if start is not None and prev is not None:
        out.append(_span(start, prev))
    return "; ".join(out)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n} {unit}" for n, unit in ((days, "hari"), (hours, "jam"), (minutes, "menit")) if n]
    return " ".join(parts) or f"{seconds} detik"


def _span(start: date, end: date) -> str:
    return format_tanggal(start) if start == end else f"{format_tanggal(start)} – {format_tanggal(end)}"


def _windows(pack: PolicyPack) -> RenderableType:
    if not pack.windows:
        return Text("Masa kerja fleksibel: tidak ada (paket ini berlaku di luar masa SE daerah)", style="italic")
    table = _table("Masa kerja fleksibel", "tanggal", "aturan / sumber", "isi")
    for window in pack.windows:
        table.add_row(_spans(list(window.all_dates())), _cite(pack, window), window.clause)
    return table


def _flexible(pack: PolicyPack) -> Table:
    flex = pack.flexible
    table = _table("Kerja fleksibel", "ketentuan", "berlaku untuk", "aturan / sumber")
    for allow in flex.allow:
        who = f"jenis {_names(allow.kinds)}; pegawai {_names(allow.employee_types)}; OPD {_names(allow.opd_classes)}"
        table.add_row("diizinkan", who, _cite(pack, allow))
    for restriction in flex.restrict:
        table.add_row(f"ditolak ({restriction.code})", _when(restriction.when), _cite(pack, restriction))
    if flex.location is not None:
        table.add_row("lokasi wajib diisi", f"jenis {_names(flex.location.kinds)}", _cite(pack, flex.location))
    for cap in flex.unit_caps:
        table.add_row(
            f"batas harian unit: {cap.max_away_ratio:.0%} (dibulatkan ke bawah)",
            f"jenis {_names(cap.kinds)}; OPD {_names(cap.opd_classes)}",
            _cite(pack, cap),
        )
    if flex.weekly_limit is not None:
        limit = flex.weekly_limit
        table.add_row(
            f"paling banyak {limit.max_days_per_week} hari kerja per minggu",
            f"jenis {_names(limit.kinds)}",
            _cite(pack, limit),
        )
    for notice in pack.notices:
        table.add_row("catatan: " + notice.clause, _when(notice.when), _cite(pack, notice))
    return table


def _routing(pack: PolicyPack) -> Table:
    table = _table("Rute persetujuan", "untuk", "jenjang", "aturan / sumber")
    for route in pack.routing.base:
        steps = " → ".join(f"{s.tier} ({s.action})" for s in route.steps)
        table.add_row(_names(route.kinds), steps, _cite(pack, route))
    for extra in pack.routing.extra:
        table.add_row(_when(extra.when), f"+ {extra.add.tier} ({extra.add.action})", _cite(pack, extra))
    table.add_row("pejabat / jenjang kosong", "naik satu jenjang", _cite(pack, pack.routing.upward))
    named = pack.routing.ppk_own_request
    if named is not None:
        table.add_row("permohonan PPK sendiri", f"{named.name} ({named.nip})", _cite(pack, named))
    return table


def _leave(pack: PolicyPack) -> Table:
    table = _table("Cuti", "jenis", "pegawai", "syarat", "PYBMC", "aturan / sumber")
    for rule in pack.leave.kinds:
        terms = [("hari kerja" if rule.counting == "working_days" else "hari kalender")]
        if rule.max_days:
            terms.append(f"paling lama {rule.max_days} hari")
        if rule.min_service_years:
            terms.append(f"masa kerja ≥ {rule.min_service_years} tahun")
        if rule.gender:
            terms.append("perempuan" if rule.gender == "P" else "laki-laki")
        table.add_row(rule.kind, _names(rule.employee_types), "; ".join(terms), rule.pybmc, _cite(pack, rule))
    annual = pack.leave.annual
    table.add_row(
        "hak cuti tahunan",
        f"penangguhan: {_names(annual.carry_over_employee_types)}",
        f"{annual.entitlement_days} hari; sisa ≤ {annual.carry_over_max_days} "
        f"→ ≤ {annual.carry_over_total_max}; "
        f"2 tahun → ≤ {annual.two_year_total_max}; cuti bersama " + _cuti_bersama_text(annual),
        "-",
        _cite(pack, annual),
    )
    return table


def _duties(pack: PolicyPack) -> RenderableType:
    if not pack.obligations:
        return Text("Kewajiban selama hari yang disetujui: tidak ada", style="italic")
    table = _table("Kewajiban selama hari yang disetujui", "kewajiban", "kapan", "kepada", "data", "aturan / sumber")
    for duty in pack.obligations:
        when = ", ".join(f"{w.label} {w.start:%H:%M}–{w.end:%H:%M}" for w in duty.windows)
        if duty.deadline is not None:
            when = (when + "; " if when else "") + f"batas {duty.deadline:%H:%M}"
        cadence = "setiap hari" if duty.cadence == "daily" else "sekali setelah hari terakhir"
        data = []
        if duty.location_precision_decimals is not None:
            data.append(f"koordinat {duty.location_precision_decimals} desimal")
        if duty.retention_days is not None:
            data.append(f"disimpan {duty.retention_days} hari")
        table.add_row(
            f"{duty.duty} ({_names(duty.kinds)})",
            f"{cadence}; {when}" if when else cadence,
            duty.report_to,
            "; ".join(data) or "-",
            _cite(pack, duty),
        )
    return table


def _other(pack: PolicyPack) -> Table:
    table = _table("Lain-lain", "ketentuan", "nilai", "aturan / sumber")
    for piket in pack.piket:
        classes = "" if piket.opd_classes == ALL_OPD_CLASSES else f" (OPD {', '.join(sorted(piket.opd_classes))})"
        table.add_row(f"piket kantor{classes}", _spans(sorted(piket.all_dates())), _cite(pack, piket))
    for minimum in pack.staffing_minimums:
        value = []
        if minimum.min_on_site_ratio is not None:
            value.append(f"≥ {minimum.min_on_site_ratio:.0%} di kantor")
        if minimum.min_on_site_headcount is not None:
            value.append(f"≥ {minimum.min_on_site_headcount} orang di kantor")
        table.add_row(f"minimum kehadiran OPD {minimum.opd_class}", "; ".join(value), _cite(pack, minimum))
    timers = pack.timers
    table.add_row(
        "pengingat / eskalasi",
        f"ingatkan setelah {_duration(timers.remind_after)}, "
        f"eskalasi setelah {_duration(timers.escalate_after)} "
        f"ke {timers.escalate_to}",
        _cite(pack, timers),
    )
    table.add_row("pengajuan ulang", f"mulai dari {pack.resubmit.resubmit_from}", _cite(pack, pack.resubmit))
    general = pack.general
    for label, rule in (
        ("hari kerja", general.working_days),
        ("tanggal lampau", general.past_date),
        ("satu pengaturan per hari", general.one_arrangement_per_day),
        ("satu ketentuan per permohonan", general.single_policy),
    ):
        table.add_row(label, rule.clause, _cite(pack, rule))
    return table


def _cuti_bersama_text(annual: AnnualLeaveRule) -> str:
    if not annual.cuti_bersama_deducted:
        return "tidak mengurangi"
    if annual.cuti_bersama_exempt_years:
        return "mengurangi, kecuali tahun " + ", ".join(str(y) for y in sorted(annual.cuti_bersama_exempt_years))
    return "mengurangi"
