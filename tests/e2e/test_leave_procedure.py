"""Leave per the national procedure over HTTP on the real stack: the address during leave, supporting
documents judged by content and readable only by those the request concerns, a CLTN held until BKN's
consideration is recorded, and the year's export for the personnel system."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from deploy.infra import InfraAddresses
from services.kernel.privacy import ERASED, PersonalDataVault
from tests.conftest import create_database
from tests.e2e.test_notifications_and_letters import settled
from tests.leave_form_text import pdf_text, section, ticked_boxes, ticked_kinds
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack

pytestmark = pytest.mark.e2e

# Kutai Timur, from deploy/data/directory-sample.csv
STAFF = "199303062016011035"  # Wulan Putri, Bappeda Bidang 2, PNS since 01/2016
OTHER_STAFF = "198910162013031036"  # Andi Andi, same unit
UNIT_HEAD = "198504112008081032"  # Rahmat Lestari
PPK = "198003132002021001"  # Lestari Wulan, Bupati
INSPECTOR = "197109071993022002"
ADMIN = "197702182002011003"
STRANGER = "197310191996061006"  # Teguh Citra, Dinkes: nothing to do with these requests
PPPK = "198608112011051009"  # Dewi Sari, PPPK, Dinkes

LEAVE = {"address": "Jl. Pendidikan 7, Sangatta Utara", "phone": "+62 812-5555-0101"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
CSV = {"content-type": "text/csv"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def post(stack: RunningStack, nip: str, path: str, body: dict[str, Any]) -> Any:
    async with await stack.as_user(nip) as client:
        return await client.post(path, json=body)


async def get(stack: RunningStack, who: str, path: str, **params: Any) -> Any:
    async with await stack.as_user(who) as client:
        return await client.get(path, params=params)


async def decide(
    stack: RunningStack, nip: str, request_id: str, decision: str = "approve", comment: str | None = None
) -> Any:
    task_id = (await get(stack, nip, f"/api/requests/{request_id}")).json()["current_task_id"]
    return await post(stack, nip, f"/api/tasks/{task_id}/decision", {"decision": decision, "comment": comment})


async def test_sick_leave_of_two_days_needs_the_doctor_s_certificate(stack: RunningStack) -> None:
    sick = {"kind": "CUTI_SAKIT", "dates": ["2026-01-05", "2026-01-06"], "reason": "Demam berdarah"}

    missing_address = await post(stack, STAFF, "/api/requests", sick)
    assert missing_address.status_code == 422 and missing_address.json()["code"] == "leave_details_required"

    no_certificate = await post(stack, STAFF, "/api/requests", {**sick, "leave": LEAVE})
    assert no_certificate.status_code == 422, no_certificate.text
    problem = no_certificate.json()
    assert problem["code"] == "document_required" and "surat keterangan dokter" in problem["detail"]
    assert [c["rule_id"] for c in problem["citations"]] == ["kutai-timur.cuti-sakit.surat-dokter"]
    assert "Pasal 320" in problem["citations"][0]["clause"]

    # a document just over 2 MB is judged by the handler (the body limit of a leave request allows five)
    too_big = await post(
        stack,
        STAFF,
        "/api/requests",
        {**sick, "leave": LEAVE, "attachments": [{"name": "scan.pdf", "content_base64": b64(PDF + bytes(2 << 20))}]},
    )
    assert too_big.status_code == 422 and too_big.json()["code"] == "attachment_too_large"

    fake = await post(
        stack,
        STAFF,
        "/api/requests",
        {**sick, "leave": LEAVE, "attachments": [{"name": "surat.pdf", "content_base64": b64(b"GIF89a....")}]},
    )
    assert fake.status_code == 422 and fake.json()["code"] == "attachment_type_not_allowed"

    # a photo of the certificate sent under a .pdf name is taken for what its bytes are: a PNG
    created = await post(
        stack,
        STAFF,
        "/api/requests",
        {**sick, "leave": LEAVE, "attachments": [{"name": "surat-dokter.pdf", "content_base64": b64(PNG)}]},
    )
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["leave"] == LEAVE
    [attachment] = request["attachments"]
    assert attachment["media_type"] == "image/png" and attachment["size"] == len(PNG)

    download = await get(stack, STAFF, attachment["url"])
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert 'filename="surat-dokter.png"' in download.headers["content-disposition"]
    for reader in (UNIT_HEAD, INSPECTOR):  # its approver and the region's inspector
        assert (await get(stack, reader, attachment["url"])).content == PNG
    for outsider in (STRANGER, OTHER_STAFF, ADMIN):
        denied = await get(stack, outsider, attachment["url"])
        assert denied.status_code == 404 and denied.json()["code"] == "attachment_not_found"

    # the log holds the file's hash, never its bytes, the address or the phone number
    search = await get(stack, INSPECTOR, "/api/audit/search", nip=STAFF)
    assert "LeaveAttachmentsStored" in {item["type"] for item in search.json()}
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        events = await conn.fetch(
            "SELECT type, payload::text AS payload FROM events WHERE payload->>'request_id' = $1", request["id"]
        )
        sealed = await conn.fetchval("SELECT sealed::text FROM leave_files WHERE request_id = $1", request["id"])
    finally:
        await conn.close()
    [stored] = [json.loads(e["payload"]) for e in events if e["type"] == "LeaveAttachmentsStored"]
    assert stored["attachments"][0]["sha256"] == attachment["sha256"]
    logged = " ".join(e["payload"] for e in events)
    assert b64(PNG)[:16] not in logged and LEAVE["address"] not in logged and "812-5555" not in logged
    assert sealed and b64(PNG)[:16] not in sealed


async def test_resubmission_keeps_the_documents_unless_new_ones_replace_them(stack: RunningStack) -> None:
    sick = {"kind": "CUTI_SAKIT", "dates": ["2026-01-12", "2026-01-13"], "reason": "Tifus", "leave": LEAVE}
    first = (
        await post(
            stack,
            OTHER_STAFF,
            "/api/requests",
            {**sick, "attachments": [{"name": "a.pdf", "content_base64": b64(PDF)}]},
        )
    ).json()
    returned = await decide(stack, UNIT_HEAD, first["id"], "return", "Tanggal kontrol dokter belum jelas")
    assert returned.status_code == 200 and returned.json()["status"] == "RETURNED"
    kept = await post(stack, OTHER_STAFF, f"/api/requests/{first['id']}/resubmit", sick)
    assert kept.status_code == 200, kept.text
    assert [a["sha256"] for a in kept.json()["attachments"]] == [a["sha256"] for a in first["attachments"]]

    # past retention the person's key is destroyed: the address and the document go with it, the log stays
    pool = await asyncpg.create_pool(stack.settings.database_url, min_size=1, max_size=2)
    try:
        vault = PersonalDataVault(pool, stack.settings.vault_key_secret)
        kids = [r["kid"] for r in await pool.fetch("SELECT kid FROM subject_keys WHERE nip = $1", OTHER_STAFF)]
        assert await vault.destroy(kids)
    finally:
        await pool.close()
    erased = (await get(stack, OTHER_STAFF, f"/api/requests/{first['id']}")).json()
    assert erased["leave"] == {"address": ERASED, "phone": ERASED}
    gone = await get(stack, OTHER_STAFF, erased["attachments"][0]["url"])
    assert gone.status_code == 410 and gone.json()["code"] == "attachment_erased"


async def test_cltn_waits_for_bkn_then_can_be_granted_and_is_exported(stack: RunningStack, tmp_path: Path) -> None:
    cltn = {
        "kind": "CLTN",
        "dates": ["2026-02-02", "2026-02-03", "2026-02-04"],
        "reason": "Mendampingi suami tugas belajar di luar negeri",
        "leave": LEAVE,
        "attachments": [{"name": "surat-tugas-suami.pdf", "content_base64": b64(PDF)}],
    }
    refused = await post(stack, PPPK, "/api/requests", {**cltn, "leave": LEAVE})
    assert refused.status_code == 422 and refused.json()["code"] == "employee_type_not_allowed"
    assert "Pasal 77" in refused.json()["citations"][0]["clause"]

    created = await post(stack, STAFF, "/api/requests", cltn)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert created.json()["route"] == ["UNIT_HEAD", "PPK"]
    assert (await decide(stack, UNIT_HEAD, request_id)).status_code == 200

    blocked = await decide(stack, PPK, request_id)
    assert blocked.status_code == 409 and blocked.json()["code"] == "external_approval_missing"
    assert "Pasal 336" in blocked.json()["citations"][0]["clause"]
    assert (await get(stack, PPK, f"/api/requests/{request_id}")).json()["status"] == "PENDING"

    letter = {
        "authority": "BKN",
        "number": "PT-1234/KEP/BKN/2025",
        "date": "2025-12-19",
        "document": {"name": "pertimbangan-bkn.pdf", "content_base64": b64(PDF)},
    }
    assert (await post(stack, STAFF, f"/api/requests/{request_id}/external-approvals", letter)).status_code == 403
    wrong = await post(
        stack,
        ADMIN,
        f"/api/requests/{request_id}/external-approvals",
        {**letter, "document": {"name": "x.pdf", "content_base64": b64(PNG)}},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "attachment_type_not_allowed"
    recorded = await post(stack, ADMIN, f"/api/requests/{request_id}/external-approvals", letter)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["document_sha256"] == hashlib.sha256(PDF).hexdigest()

    granted = await decide(stack, PPK, request_id)
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "APPROVED"
    view = (await get(stack, STAFF, f"/api/requests/{request_id}")).json()
    assert view["external_approvals"][0]["number"] == "PT-1234/KEP/BKN/2025"
    search = (await get(stack, INSPECTOR, "/api/audit/search", nip=STAFF)).json()
    assert "ExternalApprovalRecorded" in {item["type"] for item in search}

    number = await letter_number(stack, request_id)  # the letter of grant is issued by the letters projection
    # the form has no section of its own for BKN: its consideration is written beside the PYBMC's decision
    await settled(stack)
    [form] = [d for d in (await get(stack, STAFF, f"/api/requests/{request_id}/documents")).json()
              if d["kind"] == "formulir_cuti"]  # fmt: skip
    async with await stack.as_user(STAFF) as client:
        text = pdf_text((await client.get(form["url"])).content)
    assert ticked_kinds(text) == ["Cuti di Luar Tanggungan Negara"]
    decided = section(text, "VIII. KEPUTUSAN PEJABAT YANG BERWENANG MEMBERIKAN CUTI")
    assert ticked_boxes(decided) == ["DISETUJUI"]
    assert "Pertimbangan teknis BKN Nomor" in decided  # the note's column wraps beside the signature
    assert "PT-1234/KEP/BKN/2025 tanggal 19 Desember 2025." in decided
    assert (await get(stack, STAFF, "/api/leave/export", year=2025)).status_code == 403
    exported = await get(stack, ADMIN, "/api/leave/export", year=2025)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    [row] = [r for r in rows if r["jenis_cuti"] == "CLTN"]
    assert row == {
        **row,
        "nip": STAFF,
        "nama": "Wulan Putri",
        "tanggal_mulai": "2026-02-02",
        "tanggal_selesai": "2026-02-04",
        "tanggal": "2026-02-02;2026-02-03;2026-02-04",
        "hari_kerja": "3",
        "keputusan": "approve",
        "status": "APPROVED",
        "pemutus_nip": PPK,
        "pemutus_nama": "Lestari Wulan",
        "tanggal_keputusan": "2025-12-22",
        "nomor_dokumen": number,
    }
    inspector_view = await get(stack, INSPECTOR, "/api/leave/export", year=2025)
    assert inspector_view.text == exported.text
    assert len(list(csv.DictReader(io.StringIO((await get(stack, ADMIN, "/api/leave/export", year=2024)).text)))) == 0

    # the operator's command reads the same read models and writes the same file
    target = tmp_path / "cuti-2025.csv"
    code, output = await asyncio.to_thread(
        lentur, stack, "leave", "export", "--year", "2025", "--region", "kutai-timur", "--out", str(target)
    )
    assert code == 0, output
    assert target.read_bytes().decode("utf-8") == exported.text


async def letter_number(stack: RunningStack, request_id: str, timeout: float = 60) -> str:
    """The number of the request's letter, once the letters projection has issued it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        documents = (await get(stack, STAFF, f"/api/requests/{request_id}/documents")).json()
        if documents:
            return str(documents[0]["number"])
        assert asyncio.get_running_loop().time() < deadline, "no letter was issued"
        await asyncio.sleep(0.2)


def lentur(stack: RunningStack, *args: str) -> tuple[int, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LENTUR_")},
        "LENTUR_DATABASE_URL": stack.settings.database_url,
        "LENTUR_ENV": "development",
        "LENTUR_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run([sys.executable, "-m", "deploy.cli", *args], env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


async def test_service_start_from_the_directory_decides_eligibility_over_the_nip(stack: RunningStack) -> None:
    junior_since = "198104182007092028"  # Hendra Yusuf: NIP TMT 09/2007, but continuous service only since 2022

    def directory(start: str) -> bytes:
        rows = list(csv.DictReader(io.StringIO(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), "service_start"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "service_start": start if row["nip"] == junior_since else ""})
        return out.getvalue().encode()

    async with await stack.as_user(ADMIN) as admin:
        future = await admin.post("/api/admin/directory", content=directory("2030-01-01"), headers=CSV)
        assert future.status_code == 422 and future.json()["code"] == "directory_invalid"
        [error] = future.json()["errors"]
        assert error["nip"] == junior_since and "masa depan" in error["reason"] and error["row"] > 1
        imported = await admin.post("/api/admin/directory", content=directory("2022-01-03"), headers=CSV)
        assert imported.status_code == 200, imported.text
        assert imported.json()["changed"] == 1

    cltn = {"kind": "CLTN", "dates": ["2026-03-02"], "reason": "Mendampingi orang tua", "leave": LEAVE}
    refused = await post(stack, junior_since, "/api/requests", cltn)
    assert refused.status_code == 422 and refused.json()["code"] == "service_too_short"
    assert "3 Januari 2022" in refused.json()["detail"]
