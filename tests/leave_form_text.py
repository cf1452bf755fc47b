"""Reading a leave form back as a person would: its text (pdftotext -layout), cut into its sections, and
which boxes carry the X."""

from __future__ import annotations

import re
import subprocess

SECTIONS = (
    "I. DATA PEGAWAI",
    "II. JENIS CUTI YANG DIAMBIL",
    "III. ALASAN CUTI",
    "IV. LAMANYA CUTI",
    "V. CATATAN CUTI",
    "VI. ALAMAT SELAMA MENJALANKAN CUTI",
    "VII. PERTIMBANGAN ATASAN LANGSUNG",
    "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI",
)
_BOX_LABELS = re.compile(r"TIDAK DISETUJUI\**|DISETUJUI|PERUBAHAN\**|DITANGGUHKAN\**")
_MARK = re.compile(r"(?<!\S)X(?!\S)")


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def section(text: str, heading: str) -> str:
    """The text from `heading` up to the next section's heading (every section must be there, in order)."""
    starts = []
    for name in SECTIONS:
        found = re.search(rf"^\s*{re.escape(name)}", text[starts[-1] if starts else 0 :], re.MULTILINE)
        assert found is not None, f"section missing or out of order: {name}"
        starts.append((starts[-1] if starts else 0) + found.start())
    index = SECTIONS.index(heading)
    end = starts[index + 1] if index + 1 < len(starts) else len(text)
    return text[starts[index] : end]


def ticked_kinds(text: str) -> list[str]:
    """Section II's kinds with an X in their box (the box follows its label on the same line)."""
    found = []
    for line in section(text, "II. JENIS CUTI YANG DIAMBIL").splitlines():
        for match in re.finditer(r"(\d\. [A-Za-z ]+?)\s{2,}X(?!\S)", line):
            found.append(match.group(1).split(". ", 1)[1].strip())
    return found


def ticked_boxes(block: str) -> list[str | None]:
    """For each row of the four boxes in `block` (one per consideration or decision), the label whose
    column holds the X on the line below it, or None when no box is ticked."""
    lines = block.splitlines()
    ticked: list[str | None] = []
    for index, line in enumerate(lines):
        labels = list(_BOX_LABELS.finditer(line))
        if len(labels) != 4:
            continue
        below = next((candidate for candidate in lines[index + 1 :] if candidate.strip()), "")
        marks = [m.start() for m in _MARK.finditer(below)]
        if not marks:
            ticked.append(None)
            continue
        assert len(marks) == 1, f"more than one box ticked: {below!r}"
        centre = {label.group(0).rstrip("*"): (label.start() + label.end()) / 2 for label in labels}
        ticked.append(min(centre, key=lambda name: abs(centre[name] - marks[0])))
    return ticked
