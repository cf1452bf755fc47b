"""The leave form as an A4 PDF (ReportLab), laid out as Anak Lampiran I.b of Peraturan BKN 24/2017: the
numbered sections with their tables, an X in each box that was recorded, the signers, and the same
verification QR code as the letters. Deterministic (`invariant=1`), so one form always has one SHA-256.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from contracts.bahasa import long_date
from services.documents.leave_form import (
    BOXES,
    FORM_TITLE,
    KINDS_ON_FORM,
    TICK,
    AnnualRecord,
    Decision,
    LeaveForm,
)
from services.documents.render import letterhead, qr_png

CELL = ParagraphStyle("cell", fontName="Times-Roman", fontSize=9.5, leading=11.5)
CELL_BOLD = ParagraphStyle("cellb", parent=CELL, fontName="Times-Bold")
CELL_CENTER = ParagraphStyle("cellc", parent=CELL, alignment=TA_CENTER)
HEAD_CENTER = ParagraphStyle("headc", parent=CELL_BOLD, alignment=TA_CENTER, fontSize=8.8)
NOTE = ParagraphStyle("note", parent=CELL, fontSize=7.8, leading=9.5)
TITLE = ParagraphStyle("title", parent=CELL_BOLD, alignment=TA_CENTER, fontSize=11.5, leading=14)
WIDTH = 17.0 * cm
GRID = [
    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
]


def _p(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(escape(text), style)


def _grid(rows: list[list[object]], widths: list[float], extra: Sequence[tuple[Any, ...]] = ()) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([*GRID, *extra]))
    return table


def _heading(text: str) -> Table:
    """A section heading is the first, spanning row of its table on the form; drawn as a boxed row."""
    return _grid([[_p(text, CELL_BOLD)]], [WIDTH])


def _tick(ticked: bool) -> Paragraph:
    return _p(TICK if ticked else "", CELL_CENTER)


def _employee(form: LeaveForm) -> list[Flowable]:
    e = form.employee
    rows = [
        [_p("Nama"), _p(e.name), _p("NIP"), _p(e.nip)],
        [_p("Jabatan"), _p(e.position), _p("Masa Kerja"), _p(e.service_length)],
        [_p("Unit Kerja"), _p(e.unit), _p("Golongan Ruang"), _p(e.rank)],
    ]
    return [_heading("I. DATA PEGAWAI"), _grid(rows, [2.6 * cm, 6.4 * cm, 2.8 * cm, 5.2 * cm])]


def _kind(form: LeaveForm) -> list[Flowable]:
    rows = []
    for i in range(0, len(KINDS_ON_FORM), 2):
        row: list[object] = []
        for number, (kind, label) in enumerate(KINDS_ON_FORM[i : i + 2], start=i + 1):
            row += [_p(f"{number}. {label}"), _tick(form.kind_ticked(kind))]
        rows.append(row)
    return [_heading("II. JENIS CUTI YANG DIAMBIL**"), _grid(rows, [7.0 * cm, 1.5 * cm, 7.0 * cm, 1.5 * cm])]


def _reason(form: LeaveForm) -> list[Flowable]:
    return [_heading("III. ALASAN CUTI"), _grid([[_p(form.reason or "")]], [WIDTH])]


def _duration(form: LeaveForm) -> list[Flowable]:
    row = [
        _p("Selama"),
        _p(f"{form.duration()} {form.duration_unit()}"),
        _p("mulai tanggal"),
        _p(long_date(form.first_day())),
        _p("s/d"),
        _p(long_date(form.last_day())),
    ]
    widths = [1.6 * cm, 3.2 * cm, 2.6 * cm, 4.3 * cm, 1.0 * cm, 4.3 * cm]
    section: list[Flowable] = [_heading("IV. LAMANYA CUTI"), _grid([row], widths)]
    if form.extension():
        section.append(_grid([[_p(f"{form.extension().capitalize()}.")]], [WIDTH]))
    return section


def _record(form: LeaveForm) -> list[Flowable]:
    r = form.record
    annual: list[list[object]] = [
        [_p("1. CUTI TAHUNAN", CELL_BOLD), "", ""],
        [_p("Tahun"), _p("Sisa"), _p("Keterangan")],
    ]
    if r is None:
        annual += [[_p(label), _p(""), _p("")] for label in ("N-2", "N-1", "N")]
    else:
        annual += [
            [_p(f"N-2 ({r.year - 2})"), _p(str(r.n2)), _p("sisa yang terbawa")],
            [_p(f"N-1 ({r.year - 1})"), _p(str(r.n1)), _p("sisa yang terbawa")],
            [_p(f"N ({r.year})"), _p(str(r.n)), _p(_this_year_note(r))],
        ]
    others = [
        [_p(f"{number}. {label.upper()}"), _p(_taken(form, kind))]
        for number, (kind, label) in enumerate(KINDS_ON_FORM[1:], start=2)
    ]
    left = Table(annual, colWidths=[2.3 * cm, 1.3 * cm, 4.9 * cm])
    left.setStyle(TableStyle([*GRID, ("SPAN", (0, 0), (-1, 0))]))
    right = Table(others, colWidths=[6.0 * cm, 2.5 * cm])
    right.setStyle(TableStyle(GRID))
    both = Table([[left, right]], colWidths=[8.5 * cm, 8.5 * cm], hAlign="LEFT")
    both.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [_heading("V. CATATAN CUTI***"), both]


def _this_year_note(r: AnnualRecord) -> str:
    deferred = f"ditambah {r.deferred} hari ditangguhkan dari {r.year - 1}, " if r.deferred else ""
    return f"{deferred}terpakai {r.used}, tersedia {r.available} hari kerja"


def _taken(form: LeaveForm, kind: str) -> str:
    days = form.other_kinds_taken.get(kind)
    return f"{days} hari (tahun {form.first_day().year})" if days else ""


def _signature(title: str, name: str, nip: str, *, place_date: str = "") -> list[Flowable]:
    lines: list[Flowable] = []
    if place_date:
        lines.append(_p(place_date, CELL_CENTER))
    lines += [
        _p(title, CELL_CENTER),
        Spacer(1, 16),
        Paragraph(f"<u>{escape(name)}</u>", ParagraphStyle("sig", parent=CELL_BOLD, alignment=TA_CENTER)),
        _p(f"NIP. {nip}", CELL_CENTER),
    ]
    return lines


def _address(form: LeaveForm) -> list[Flowable]:
    e = form.employee
    rows = [
        [_p(form.address), _p("TELP"), _p(form.phone)],
        ["", _signature("Hormat saya,", e.name, e.nip), ""],
    ]
    extra = [("SPAN", (1, 1), (2, 1)), ("BOX", (0, 0), (0, 1), 0.5, colors.black), ("SPAN", (0, 0), (0, 1))]
    return [_heading("VI. ALAMAT SELAMA MENJALANKAN CUTI"), _grid(rows, [9.0 * cm, 1.6 * cm, 6.4 * cm], extra)]


def _boxes(heading: str, decision: Decision | None, *, empty_note: str = "", basis: str = "") -> list[Flowable]:
    labels = [_p(label + ("" if box == "approve" else "****"), HEAD_CENTER) for box, label in BOXES]
    ticks = [_tick(decision is not None and decision.ticked(box)) for box, _ in BOXES]
    rows: list[list[object]] = [labels, ticks]
    note = " ".join(part for part in (basis, decision.note() if decision is not None else empty_note) if part)
    signer = (
        _signature(
            decision.signer.title, decision.signer.name, decision.signer.nip, place_date=long_date(decision.decided_on)
        )
        if decision is not None
        else [_p("")]
    )
    rows.append([_p(note), "", signer, ""])
    extra = [("SPAN", (0, 2), (1, 2)), ("SPAN", (2, 2), (3, 2)), ("VALIGN", (0, 2), (-1, 2), "TOP")]
    return [_heading(heading), _grid(rows, [4.25 * cm] * 4, extra)]


def _decisions(form: LeaveForm) -> list[Flowable]:
    story: list[Flowable] = []
    considerations = form.considerations or (None,)
    for index, consideration in enumerate(considerations):
        heading = "VII. PERTIMBANGAN ATASAN LANGSUNG**"
        if index:
            heading = (
                f"VII. PERTIMBANGAN ATASAN LANGSUNG** (lanjutan: {consideration.signer.post if consideration else ''})"
            )
        story += [KeepTogether(_boxes(heading, consideration)), Spacer(1, 4)]
    ended_early = "Permintaan cuti berakhir pada pertimbangan atasan langsung; tidak diteruskan kepada pejabat ini."
    story += [
        KeepTogether(
            _boxes(
                "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI**",
                form.decision,
                empty_note=ended_early if form.decision is None else "",
                basis=" ".join(outside.note() for outside in form.outside) if form.decision is not None else "",
            )
        )
    ]
    return story


FOOTNOTES = (
    "Catatan:",
    "*     Coret yang tidak perlu.",
    "**    Pilih salah satu dengan memberi tanda (X).",
    "***   Diisi oleh pejabat yang menangani bidang kepegawaian sebelum PNS mengambil cuti.",
    "****  Diberi tanda (X) dan alasannya.",
    "N = cuti tahun berjalan; N-1 = sisa cuti 1 tahun sebelumnya; N-2 = sisa cuti 2 tahun sebelumnya.",
)


def _qr(form: LeaveForm) -> list[Flowable]:
    """The verification QR code, top left of the first page, where the kop leaves room beside the addressee."""
    return [
        Image(io.BytesIO(qr_png(form.verify_url)), width=3.1 * cm, height=3.1 * cm, hAlign="LEFT"),
        _p("Pindai untuk memeriksa keaslian formulir ini.", NOTE),
    ]


def _verification(form: LeaveForm) -> Table:
    text = [
        _p("Tautan pemeriksaan keaslian:", NOTE),
        _p(form.verify_url, NOTE),
        _p(
            "Formulir ini diterbitkan secara elektronik. Nomor, tanggal, penanda tangan dan sidik SHA-256 berkas "
            "ini tercatat dalam jejak audit dan dapat diperiksa melalui tautan ini atau kode QR di halaman pertama.",
            NOTE,
        ),
    ]
    notes = [_p(line, NOTE) for line in FOOTNOTES]
    table = Table([[text, notes]], colWidths=[7.0 * cm, 10.0 * cm], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def render_leave_form(form: LeaveForm) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2.0 * cm,
        rightMargin=2.0 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title=f"Formulir Permintaan dan Pemberian Cuti {form.number}",
        author=f"{form.region.pemda} - {form.opd_name}",
        subject=f"Nomor {form.number}",
        creator="Lentur",
        keywords=f"verifikasi {form.verify_url}",
        invariant=1,
    )
    addressee = Table(
        [
            [
                _qr(form),
                [
                    _p(f"{form.region.seat}, {long_date(form.issued_on)}"),
                    _p("Kepada"),
                    _p(f"Yth. {form.addressee}"),
                    _p(f"di {form.region.seat}"),
                ],
            ]
        ],
        colWidths=[9.5 * cm, 7.5 * cm],
        hAlign="LEFT",
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)],
    )
    story: list[Flowable] = [
        *letterhead(form.region, form.opd_name),
        addressee,
        Spacer(1, 6),
        _p(FORM_TITLE, TITLE),
        _p(f"Nomor: {form.number}", CELL_CENTER),
        Spacer(1, 6),
    ]
    for section in (_employee, _kind, _reason, _duration, _record, _address):
        story += [*section(form), Spacer(1, 4)]
    story += _decisions(form)
    story += [Spacer(1, 8), KeepTogether([_verification(form)])]
    doc.build(story)
    return buffer.getvalue()
