"""Leave per the national procedure end to end, over HTTP on the real stack, for one person: the request with
the address during leave, an advisory consideration, the PYBMC's deferral and, on a second request, its
perubahan; after each, the annual-leave record, the Formulir Permintaan dan Pemberian Cuti read back with
pdftotext, and the year's export for the personnel system agree with one another.

The demo clock stands at 22 Dec 2025 (WITA); Kendari's route for annual leave is kepala unit (pertimbangan),
kepala dinas (pertimbangan), then the PPK as PYBMC.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.infra import InfraAddresses
from tests.conftest import create_database
from tests.e2e.test_notifications_and_letters import settled
from tests.leave_form_text import pdf_text, section, ticked_boxes, ticked_kinds
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

NIP = "197603131999112162"  # Kurnia Made, PNS since November 1999 (the NIP's TMT), DISHUB-U1, Kendari
UNIT_HEAD = "197506201999081160"  # Indah Sari
OPD_HEAD = "199503222018022159"  # Yusuf Indah, Kepala Dinas Perhubungan
PPK = "198609222008011156"  # Citra Kurnia, Wali Kota Kendari: the PYBMC
ADMIN = "199702202019041158"  # Rahmat Joko, admin of Kendari
CONTACT = {"address": "Jl. Bunga Kamboja 4, Kendari Barat", "phone": "+62 813-4100-2162"}
ASKED = ["2025-12-29", "2025-12-30", "2025-12-31"]
SECOND = ["2026-01-05", "2026-01-06", "2026-01-07"]
DECIDED = "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI"


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def call(stack: RunningStack, nip: str, method: str, path: str, **kwargs: Any) -> Any:
    async with await stack.as_user(nip) as client:
        return await client.request(method, path, **kwargs)


async def decide(stack: RunningStack, nip: str, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await call(stack, nip, "POST", f"/api/tasks/{task_id}/decision", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def annual(stack: RunningStack, year: int) -> dict[str, int]:
    r = await call(stack, NIP, "GET", "/api/leave/balance", params={"year": year})
    assert r.status_code == 200, r.text
    return dict(r.json()["annual"])


async def form_of(stack: RunningStack, request_id: str) -> str:
    """The request's formulir_cuti as the requester downloads it, as text."""
    await settled(stack)
    listed = (await call(stack, NIP, "GET", f"/api/requests/{request_id}/documents")).json()
    [doc] = [d for d in listed if d["kind"] == "formulir_cuti"]
    pdf = await call(stack, NIP, "GET", doc["url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    return pdf_text(pdf.content)


def record_on_form(text: str, year: int) -> dict[str, int]:
    """Section V's remaining days per year row, as printed."""
    record = section(text, "V. CATATAN CUTI")
    found = {}
    for label, offset in (("n2", 2), ("n1", 1), ("n", 0)):
        row = "N" + (f"-{offset}" if offset else "")
        match = re.search(rf"{row} \({year - offset}\)\s+(\d+)", record)
        assert match is not None, f"{row} missing from section V:\n{record}"
        found[label] = int(match.group(1))
    return found


async def exported(stack: RunningStack, request_dates: list[str]) -> dict[str, str]:
    r = await call(stack, ADMIN, "GET", "/api/leave/export", params={"year": 2025})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = [row for row in csv.DictReader(io.StringIO(r.text)) if row["nip"] == NIP]
    [row] = [row for row in rows if row["tanggal_mulai"] == request_dates[0]]
    return row


async def test_deferred_then_changed_leave_agrees_across_record_form_and_export(stack: RunningStack) -> None:
    before = await annual(stack, 2025)
    assert before == {"n": 12, "n1": 0, "n2": 0, "deferred": 0, "used": 0, "pending": 0, "available": 12}

    # the request carries the address and phone during leave
    r = await call(
        stack,
        NIP,
        "POST",
        "/api/requests",
        json={"kind": "CUTI_TAHUNAN", "dates": ASKED, "reason": "Menjenguk orang tua", "leave": CONTACT},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    request_id = created["id"]
    assert (await call(stack, NIP, "GET", f"/api/requests/{request_id}")).json()["leave"] == CONTACT

    # the unit head advises against it; a consideration does not bind, so the request goes on
    view = await decide(stack, UNIT_HEAD, created["current_task_id"], {"decision": "reject", "comment": "Akhir tahun"})
    assert view["status"] == "PENDING" and view["current_tier"] == "OPD_HEAD"
    assert view["decisions"][-1]["binding"] is False
    view = await decide(stack, OPD_HEAD, view["current_task_id"], {"decision": "approve", "comment": "Setuju"})
    assert view["current_tier"] == "PPK"

    # the PYBMC defers it
    body = {"decision": "defer", "comment": "Tutup buku anggaran", "defer_until": "2026-03-02"}
    view = await decide(stack, PPK, view["current_task_id"], body)
    assert view["status"] == "DEFERRED"
    assert (await call(stack, NIP, "GET", f"/api/requests/{request_id}")).json()["status"] == "DEFERRED"

    # the days are no longer 2025's, and wait in 2026
    this_year = await annual(stack, 2025)
    assert this_year == {**before, "available": before["available"] - 3}
    next_year = await annual(stack, 2026)
    assert next_year["deferred"] == 3 and next_year["used"] == 0 and next_year["pending"] == 0

    # the form: section I from the directory, the address, the advisory refusal and the deferral ticked
    text = await form_of(stack, request_id)
    employee = " ".join(section(text, "I. DATA PEGAWAI").split())
    for expected in ("Kurnia Made", NIP, "Analis Kebijakan Ahli Pertama", "Pembina Utama Muda, IV/c"):
        assert expected in employee, expected
    assert "26 tahun 1 bulan" in employee  # masa kerja from the TMT, November 1999, to 22 December 2025
    assert ticked_kinds(text) == ["Cuti Tahunan"]
    contact = " ".join(section(text, "VI. ALAMAT SELAMA MENJALANKAN CUTI").split())
    assert CONTACT["address"] in contact and CONTACT["phone"] in contact
    considered = section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")
    assert ticked_boxes(considered) == ["TIDAK DISETUJUI", "DISETUJUI"]
    decided = section(text, DECIDED)
    assert ticked_boxes(decided) == ["DITANGGUHKAN"]
    assert "Ditangguhkan sampai dengan 2 Maret 2026" in " ".join(decided.split())
    on_form = record_on_form(text, 2025)
    assert on_form == {key: this_year[key] for key in ("n2", "n1", "n")}

    row = await exported(stack, ASKED)
    assert (row["keputusan"], row["status"], row["tanggal"]) == ("defer", "DEFERRED", ";".join(ASKED))
    assert row["pemutus_nip"] == PPK and row["hari_kerja"] == "3"

    # a perubahan to fewer days: only the granted day is debited, and it becomes the request's date
    r = await call(
        stack,
        NIP,
        "POST",
        "/api/requests",
        json={"kind": "CUTI_TAHUNAN", "dates": SECOND, "reason": "Urusan keluarga", "leave": CONTACT},
    )
    assert r.status_code == 201, r.text
    second = r.json()
    view = await decide(stack, UNIT_HEAD, second["current_task_id"], {"decision": "approve", "comment": "Setuju"})
    view = await decide(stack, OPD_HEAD, view["current_task_id"], {"decision": "approve", "comment": "Setuju"})
    body = {"decision": "change", "dates": ["2026-01-06"], "comment": "Satu hari cukup"}
    view = await decide(stack, PPK, view["current_task_id"], body)
    assert view["status"] == "APPROVED" and view["dates"] == ["2026-01-06"]
    assert (await call(stack, NIP, "GET", f"/api/requests/{second['id']}")).json()["dates"] == ["2026-01-06"]
    after = await annual(stack, 2026)
    assert (after["used"], after["pending"]) == (1, 0)
    assert after == {**next_year, "used": 1, "available": next_year["available"] - 1}

    text = await form_of(stack, second["id"])
    decided = section(text, DECIDED)
    assert ticked_boxes(decided) == ["PERUBAHAN"]
    assert "Diberikan pada tanggal 6 Januari 2026" in " ".join(decided.split())
    duration = section(text, "IV. LAMANYA CUTI")  # section IV keeps what was asked; VIII says what was granted
    assert "5 Januari 2026" in duration and "7 Januari 2026" in duration
    assert record_on_form(text, 2026) == {key: after[key] for key in ("n2", "n1", "n")}
    record = " ".join(section(text, "V. CATATAN CUTI").split())
    assert "ditambah 3 hari ditangguhkan" in record  # the deferred days, usable in 2026
    assert f"tersedia {next_year['available']}" in record  # before this request

    row = await exported(stack, ["2026-01-06"])
    assert (row["keputusan"], row["status"], row["tanggal"], row["hari_kerja"]) == (
        "change",
        "APPROVED",
        "2026-01-06",
        "1",
    )
