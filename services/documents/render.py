"""The letter as a PDF (ReportLab) with its verification QR code (segno).

Rendering is deterministic (`invariant=1`: no creation time or random document id in the file), so the same
letter always has the same SHA-256.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.documents.letters import Letter
from services.kernel.bahasa import long_date
from services.kernel.regions import RegionDisplay

BODY = ParagraphStyle("body", fontName="Times-Roman", fontSize=11.5, leading=16, alignment=TA_JUSTIFY)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=11)
CENTER = ParagraphStyle("center", parent=BODY, alignment=TA_CENTER)
KOP_1 = ParagraphStyle("kop1", parent=CENTER, fontName="Times-Bold", fontSize=14, leading=17)
KOP_2 = ParagraphStyle("kop2", parent=CENTER, fontName="Times-Bold", fontSize=16, leading=20)
KOP_3 = ParagraphStyle("kop3", parent=CENTER, fontSize=9.5, leading=12)
TITLE = ParagraphStyle("title", parent=CENTER, fontName="Times-Bold", fontSize=12.5, leading=16)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def letterhead(region: RegionDisplay, opd_name: str) -> list[Flowable]:
    """The kop surat: the pemda, the OPD, its seat, and the double rule beneath."""
    return [
        _p(region.pemda.upper(), KOP_1),
        _p(opd_name.upper(), KOP_2),
        _p(f"{region.seat}, {region.province}".strip(", "), KOP_3),
        Spacer(1, 3),
        HRFlowable(width="100%", thickness=2.2, color=colors.black, spaceAfter=1.5),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceAfter=14),
    ]


def render_letter(letter: Letter) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2.5 * cm,
        rightMargin=2.2 * cm,
        topMargin=1.6 * cm,
        bottomMargin=1.8 * cm,
        title=f"{letter.title.title()} {letter.number}",
        author=f"{letter.region.pemda} - {letter.opd_name}",
        subject=f"Nomor {letter.number}",
        creator="Lentur",
        keywords=f"verifikasi {letter.verify_url}",
        invariant=1,
    )
    holder = letter.holder
    story: list[object] = [
        *letterhead(letter.region, letter.opd_name),
        Paragraph(f"<u>{escape(letter.title)}</u>", TITLE),
        _p(f"NOMOR: {letter.number}", CENTER),
        Spacer(1, 14),
    ]
    identity = [
        ["Nama", ":", holder.name],
        ["NIP", ":", holder.nip],
        ["Jabatan", ":", holder.position],
        ["Satuan Organisasi", ":", f"{holder.unit_name}, {holder.opd_name}"],
    ]
    table = Table(
        [[_p(a), _p(b), _p(c)] for a, b, c in identity], colWidths=[4.2 * cm, 0.5 * cm, 10.8 * cm], hAlign="LEFT"
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, -1), 0.6 * cm)]))
    numbered = Table(
        [[_p("1."), [_p(letter.grant()), Spacer(1, 4), table, Spacer(1, 4), _p(letter.period())]]],
        colWidths=[0.8 * cm, 15.5 * cm],
        hAlign="LEFT",
    )
    numbered.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [numbered]
    conditions = Table(
        [[_p(f"{chr(ord('a') + i)}."), _p(text)] for i, text in enumerate(letter.conditions())],
        colWidths=[0.7 * cm, 14.8 * cm],
        hAlign="RIGHT",
    )
    conditions.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    closing = Table([[_p("2."), _p(letter.closing())]], colWidths=[0.8 * cm, 15.5 * cm], hAlign="LEFT")
    closing.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [conditions, Spacer(1, 6), closing, Spacer(1, 16)]

    signer = letter.signer
    signature = [
        _p(f"{letter.region.seat}, {long_date(letter.issued_on)}"),
        _p(signer.title),
        Spacer(1, 34),
        Paragraph(f"<b><u>{escape(signer.name)}</u></b>", BODY),
        _p(f"NIP. {signer.nip}"),
    ]
    qr = Image(io.BytesIO(qr_png(letter.verify_url)), width=3.1 * cm, height=3.1 * cm)
    qr_cell = [qr, _p("Pindai untuk memeriksa keaslian surat ini:", SMALL), _p(letter.verify_url, SMALL)]
    block = Table([[qr_cell, signature]], colWidths=[7.5 * cm, 8.8 * cm], hAlign="LEFT")
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(KeepTogether([block]))
    story += [Spacer(1, 14), _p("Tembusan:", SMALL)]
    story += [_p(f"{i}. {text}", SMALL) for i, text in enumerate(letter.copies(), start=1)]
    story += [
        Spacer(1, 10),
        _p(
            "Surat ini diterbitkan secara elektronik. Nomor, tanggal, penanda tangan dan sidik SHA-256 berkas ini "
            "tercatat dalam jejak audit dan dapat diperiksa melalui tautan atau kode QR di atas.",
            SMALL,
        ),
    ]
    doc.build(story)
    return buffer.getvalue()
