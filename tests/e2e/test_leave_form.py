"""The Formulir Permintaan dan Pemberian Cuti on the real stack: issued for a leave round once it is decided,
listed with the request's documents, read back with pdftotext section by section, its QR code decoded and
its verification page saying genuine."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import AsyncIterator

import asyncpg
import pytest
import zxingcpp
from PIL import Image

from deploy.infra import InfraAddresses
from policy.bundled import bundled_pack_texts
from tests.conftest import ARTIFACTS, create_database
from tests.e2e.test_notifications_and_letters import (
    INFO2_HEAD,
    INFO2_STAFF,
    INFO_HEAD,
    INFO_STAFF,
    OPD_HEAD,
    PPK,
    STAFF,
    STRANGER,
    U2_HEAD,
    U2_STAFF,
    UNIT_HEAD,
    settled,
    submit,
)
from tests.leave_form_text import pdf_text, section, ticked_boxes, ticked_kinds
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

BASE_URL = "https://lentur.example"
INFO_OPD_HEAD = STRANGER  # Gita Fajar, head of Diskominfo, on the route of its staff
KENDARI_ADMIN = "199702202019041158"
SHARED: dict[str, dict] = {}
CONTACT = {"address": "Jl. Malaka 21, Kambu, Kendari", "phone": "+62 811-4055-0163"}
LEAVE = {
    "kind": "CUTI_TAHUNAN",
    "dates": ["2025-12-29", "2025-12-30", "2025-12-31"],
    "reason": "Pulang kampung",
    "leave": CONTACT,
}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra), public_base_url=BASE_URL) as running:
        yield running


async def decide(stack: RunningStack, nip: str, request_id: str, decision: str, comment: str) -> None:
    async with await stack.as_user(nip) as client:
        tasks = [t for t in (await client.get("/api/tasks")).json() if t["request_id"] == request_id]
        assert len(tasks) == 1, f"{nip} has {len(tasks)} tasks for {request_id}"
        r = await client.post(
            f"/api/tasks/{tasks[0]['task_id']}/decision", json={"decision": decision, "comment": comment}
        )
        assert r.status_code == 200, r.text


async def forms(stack: RunningStack, nip: str, request_id: str) -> list[dict]:
    await settled(stack)
    async with await stack.as_user(nip) as client:
        r = await client.get(f"/api/requests/{request_id}/documents")
        assert r.status_code == 200, r.text
        return [d for d in r.json() if d["kind"] == "formulir_cuti"]


async def form_text(stack: RunningStack, nip: str, doc: dict) -> tuple[bytes, str]:
    async with await stack.as_user(nip) as client:
        pdf = await client.get(doc["url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == doc["sha256"]
    return pdf.content, pdf_text(pdf.content)


async def test_a_leave_approved_at_every_tier_has_a_form_that_reads_back_and_verifies(stack: RunningStack) -> None:
    request_id = (await submit(stack, STAFF, LEAVE))["id"]
    assert await forms(stack, STAFF, request_id) == []  # no decision yet, no form
    await decide(stack, UNIT_HEAD, request_id, "approve", "Setuju")
    assert await forms(stack, STAFF, request_id) == []  # a consideration; the round is not decided yet
    await decide(stack, OPD_HEAD, request_id, "approve", "Setuju")
    await decide(stack, PPK, request_id, "approve", "Setuju")

    [doc] = await forms(stack, STAFF, request_id)
    SHARED["approved"] = {"request_id": request_id, **doc}
    assert doc["status"] == "issued" and doc["number"] == "800/FPC.1/DISHUB/XII/2025"
    assert doc["verify_url"] == f"{BASE_URL}/verifikasi/{doc['id']}"
    pdf, text = await form_text(stack, PPK, doc)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "formulir-cuti.pdf"
    path.write_bytes(pdf)

    assert "FORMULIR PERMINTAAN DAN PEMBERIAN CUTI" in text and "PEMERINTAH KOTA KENDARI" in text
    assert "Yth. Wali Kota Kendari" in text and "Kendari, 22 Desember 2025" in text
    employee = section(text, "I. DATA PEGAWAI")
    for expected in ("Putri Teguh", STAFF, "Masa Kerja", "4 tahun 11 bulan", "Dinas Perhubungan"):
        assert expected in employee, expected
    assert ticked_kinds(text) == ["Cuti Tahunan"]
    assert "Pulang kampung" in section(text, "III. ALASAN CUTI")  # unsealed for the form only
    duration = section(text, "IV. LAMANYA CUTI")
    assert "3 hari kerja" in duration and "29 Desember 2025" in duration and "31 Desember 2025" in duration
    record = section(text, "V. CATATAN CUTI")
    assert "N-2 (2023)" in record and "N-1 (2024)" in record and "N (2025)" in record
    contact = " ".join(section(text, "VI. ALAMAT SELAMA MENJALANKAN CUTI").split())
    assert CONTACT["address"] in contact and CONTACT["phone"] in contact  # unsealed for the form only
    considerations = section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")
    assert ticked_boxes(considerations) == ["DISETUJUI", "DISETUJUI"]  # the unit head, then the OPD head
    assert "Indah Sari" in considerations and f"NIP. {UNIT_HEAD}" in considerations
    assert "Yusuf Indah" in considerations and "Kepala Dinas Perhubungan" in considerations
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["DISETUJUI"]
    assert "Wali Kota Kendari" in decided and "Citra Kurnia" in decided and f"NIP. {PPK}" in decided

    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(path.with_suffix(""))], check=True)  # fmt: skip
    decoded = zxingcpp.read_barcodes(Image.open(path.with_suffix(".png")))
    assert [code.text for code in decoded] == [doc["verify_url"]]
    async with stack.client() as anyone:
        page = await anyone.get(f"/verifikasi/{doc['id']}", headers={"Accept": "application/json"})
        record_json = page.json()
        assert page.status_code == 200 and record_json["status"] == "genuine"
        assert record_json["document"]["kind_label"] == "Formulir Permintaan dan Pemberian Cuti"
        assert record_json["document"]["sha256"] == doc["sha256"]
        assert record_json["document"]["audit_position"] == doc["audit_position"]
        assert record_json["document"]["signer"]["name"] == "Citra Kurnia"
        upload = await anyone.post(
            f"/verifikasi/{doc['id']}",
            files={"berkas": ("formulir.pdf", pdf, "application/pdf")},
            headers={"Accept": "application/json"},
        )
        assert upload.json()["upload"]["verdict"] == "genuine"
    # the letter is still there beside the form, each in its own numbering
    async with await stack.as_user(STAFF) as asn:
        kinds = [d["kind"] for d in (await asn.get(f"/api/requests/{request_id}/documents")).json()]
    assert sorted(kinds) == ["formulir_cuti", "surat_izin_cuti_tahunan"]
    # and the requester downloads it from the request's page in the portal
    async with stack.client() as browser:
        browser.cookies.set("lentur_session", await stack.token(STAFF))
        page = await browser.get(f"/pengajuan/{request_id}")
        assert page.status_code == 200
        assert "Formulir Permintaan dan Pemberian Cuti" in page.text and f'href="{doc["url"]}"' in page.text
        assert (await browser.get(doc["url"])).content == pdf


async def test_a_refusal_ticks_tidak_disetujui_where_it_was_recorded(stack: RunningStack) -> None:
    # refused by the pejabat yang berwenang after two favourable considerations
    at_the_top = (await submit(stack, U2_STAFF, LEAVE))["id"]
    await decide(stack, U2_HEAD, at_the_top, "approve", "Setuju")
    await decide(stack, OPD_HEAD, at_the_top, "approve", "Setuju")
    await decide(stack, PPK, at_the_top, "reject", "Tenaga dibutuhkan untuk pelayanan akhir tahun")
    [doc] = await forms(stack, U2_STAFF, at_the_top)
    _, text = await form_text(stack, U2_STAFF, doc)
    assert ticked_boxes(section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")) == ["DISETUJUI", "DISETUJUI"]
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["TIDAK DISETUJUI"]
    assert "Tenaga dibutuhkan untuk pelayanan akhir tahun" in " ".join(decided.split())
    assert "Citra Kurnia" in decided

    # refused at the first tier: a consideration is advisory, so the round goes on to the pejabat yang
    # berwenang, whose own refusal is the decision
    advised = (await submit(stack, INFO_STAFF, LEAVE))["id"]
    await decide(stack, INFO_HEAD, advised, "reject", "Sedang ada audit")
    await decide(stack, INFO_OPD_HEAD, advised, "approve", "Setuju")
    await decide(stack, PPK, advised, "reject", "Mengikuti pertimbangan atasan langsung")
    [doc] = await forms(stack, INFO_STAFF, advised)
    _, text = await form_text(stack, INFO_STAFF, doc)
    considered = section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")
    assert ticked_boxes(considered) == ["TIDAK DISETUJUI", "DISETUJUI"] and "Made Teguh" in considered
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["TIDAK DISETUJUI"] and "Citra Kurnia" in decided

    # where the pack binds the unit head's consideration, the refusal ends the round before the PYBMC
    await publish_binding_unit_head(stack)
    at_the_unit = (await submit(stack, INFO2_STAFF, LEAVE))["id"]
    await decide(stack, INFO2_HEAD, at_the_unit, "reject", "Sedang ada audit")
    [doc] = await forms(stack, INFO2_STAFF, at_the_unit)
    _, text = await form_text(stack, INFO2_STAFF, doc)
    considered = section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")
    assert ticked_boxes(considered) == ["TIDAK DISETUJUI"] and "Made Dewi" in considered
    assert ticked_boxes(section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")) == [None]


async def publish_binding_unit_head(stack: RunningStack) -> None:
    """Kendari's annual-leave route with the unit head's consideration binding, as a new pack version."""
    text = bundled_pack_texts()["kendari.yaml"].replace("version: 2025.12.1.1", "version: 2025.12.96", 1)
    plain = "        - {tier: UNIT_HEAD, action: recommend}\n        - {tier: OPD_HEAD, action: recommend}\n"
    binding = (
        "        - {tier: UNIT_HEAD, action: recommend, binding: {id: kendari.pertimbangan-atasan-mengikat, "
        "basis: pp-11-2017, clause: Pertimbangan atasan langsung yang tidak menyetujui mengakhiri permohonan.}}\n"
        "        - {tier: OPD_HEAD, action: recommend}\n"
    )
    assert plain in text
    async with await stack.as_user(KENDARI_ADMIN) as admin:
        r = await admin.post(
            "/api/policy/packs",
            content=text.replace(plain, binding, 1).encode(),
            headers={"content-type": "application/yaml"},
        )
        assert r.status_code == 201, r.text


async def test_a_delegate_of_the_pybmc_signs_the_decision_a_n(stack: RunningStack) -> None:
    async with await stack.as_user(PPK) as holder:
        r = await holder.post(
            "/api/delegations",
            json={"delegate_nip": OPD_HEAD, "tiers": ["PPK"], "from": "2025-12-22T00:00:00+08:00",
                  "to": "2025-12-24T00:00:00+08:00"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        delegation = r.json()["id"]
    try:
        sick = {"kind": "CUTI_SAKIT", "dates": ["2026-01-05"], "reason": "Operasi kecil", "leave": CONTACT}
        request_id = (await submit(stack, U2_STAFF, sick))["id"]
        await decide(stack, U2_HEAD, request_id, "approve", "Setuju")
        await decide(stack, OPD_HEAD, request_id, "approve", "Setuju")  # as the Wali Kota's delegate
        [doc] = await forms(stack, U2_STAFF, request_id)
    finally:
        async with await stack.as_user(PPK) as holder:
            assert (await holder.delete(f"/api/delegations/{delegation}")).status_code == 204
    _, text = await form_text(stack, U2_STAFF, doc)
    assert ticked_kinds(text) == ["Cuti Sakit"] and "1 hari" in section(text, "IV. LAMANYA CUTI")
    assert ticked_boxes(section(text, "VII. PERTIMBANGAN ATASAN LANGSUNG")) == ["DISETUJUI"]
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["DISETUJUI"]
    assert "a.n. Wali Kota Kendari" in decided and "Yusuf Indah" in decided and f"NIP. {OPD_HEAD}" in decided


async def test_a_request_returned_for_revision_has_no_form(stack: RunningStack) -> None:
    request_id = (await submit(stack, INFO2_STAFF, LEAVE))["id"]
    await decide(stack, INFO2_HEAD, request_id, "return", "Mohon lengkapi alasan")
    assert await forms(stack, INFO2_STAFF, request_id) == []


async def test_the_stored_form_is_sealed_and_erased_with_the_requesters_key(stack: RunningStack) -> None:
    doc = SHARED["approved"]
    async with await stack.as_user(STAFF) as asn:
        pdf = (await asn.get(doc["url"])).content
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        stored = await conn.fetchrow("SELECT pdf, pdf_sealed FROM documents WHERE doc_id = $1", doc["id"])
        submitted = await conn.fetchval(
            "SELECT payload FROM events WHERE stream_id = $1 AND type = 'RequestSubmitted'",
            f"request-{doc['request_id']}",
        )
        kid = json.loads(submitted)["personal"]["kid"]  # jsonb arrives as text on a plain connection
        sealed = json.loads(stored["pdf_sealed"])
        # the reason and address on the form are personal data: kept only as ciphertext, under the request's key
        assert bytes(stored["pdf"]) == b"" and sealed["kid"] == kid
        # retention destroys that key (as the retention job does)
        await conn.execute(
            "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = now() WHERE kid = $1 AND destroyed_at IS NULL",
            kid,
        )
    finally:
        await conn.close()
    async with await stack.as_user(STAFF) as asn:
        gone = await asn.get(doc["url"])
    assert gone.status_code == 410 and gone.json()["code"] == "document_erased"
    async with stack.client() as anyone:  # a copy in hand still verifies against the log
        record = (await anyone.get(f"/verifikasi/{doc['id']}", headers={"Accept": "application/json"})).json()
        assert record["status"] == "genuine"
        upload = await anyone.post(
            f"/verifikasi/{doc['id']}",
            files={"berkas": ("formulir.pdf", pdf, "application/pdf")},
            headers={"Accept": "application/json"},
        )
        assert upload.json()["upload"]["verdict"] == "genuine"
