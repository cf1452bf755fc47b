"""The portal over plain HTTP: sign-in, CSRF, the requester's and approver's forms, the inspector's pages and
the public board, against the real in-process stack."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import csrf_from, portal_client, token_of
from tests.conftest import create_database
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack

pytestmark = pytest.mark.e2e

STAFF = "199505042021012163"  # Putri Teguh, PNS, DISHUB-U1, Kendari
STAFF_2 = "197603131999112162"  # Kurnia Made, PNS, DISHUB-U1
STAFF_3 = "197809212003122164"  # Indah Made, PNS, DISHUB-U1
UNIT_HEAD = "197506201999081160"  # Indah Sari, DISHUB-U1
OPD_HEAD = "199503222018022159"
PPK = "198609222008011156"
INSPECTOR = "199412172016012157"
PPPK = "197205211994122177"  # Teguh Andi, PPPK, DPMPTSP-U2
U2_STAFF = "198912022013092166"  # Joko Wulan, DISHUB-U2 (unit head Putri Hendra has a Plt/Plh)
U2_ACTING = "197001011996062169"  # Dewi Sari, Plt/Plh for Putri Hendra
PAGES = ("/", "/pengajuan", "/pengajuan/saya", "/kotak-masuk", "/audit", "/papan")

WFH = {
    "jenis": "WFH",
    "tanggal": ["2025-12-29"],
    "alasan": "Menjaga anak yang sakit",
    "rencana_kerja": "Rekap data angkutan",
}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def _api_submit(stack: RunningStack, nip: str, body: dict) -> dict:
    async with await stack.as_user(nip) as api:
        r = await api.post("/api/requests", json=body)
        assert r.status_code == 201, r.text
        return r.json()


async def _task_of(stack: RunningStack, approver: str, request_id: str) -> dict | None:
    async with await stack.as_user(approver) as api:
        items = (await api.get("/api/tasks")).json()
    return next((t for t in items if t["request_id"] == request_id), None)


async def _approve_all(stack: RunningStack, request_id: str, approvers: tuple[str, ...]) -> None:
    for nip in approvers:
        task = await _task_of(stack, nip, request_id)
        assert task is not None
        async with await stack.as_user(nip) as api:
            r = await api.post(f"/api/tasks/{task['task_id']}/decision", json={"decision": "approve"})
            assert r.status_code == 200, r.text


async def test_pages_send_a_signed_out_visitor_to_sign_in(stack: RunningStack) -> None:
    async with stack.client() as anonymous:
        for path in PAGES:
            r = await anonymous.get(path, follow_redirects=False)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/masuk"), path
        r = await anonymous.get("/kotak-masuk?jenis=WFH", follow_redirects=False)
        assert r.headers["location"] == "/masuk?lanjut=%2Fkotak-masuk%3Fjenis%3DWFH"
        forged = await anonymous.get("/", headers={"cookie": "lentur_session=not-a-token"}, follow_redirects=False)
        assert forged.status_code == 303 and forged.headers["location"].startswith("/masuk")


async def test_sign_in_gives_a_session_cookie_that_the_api_accepts(stack: RunningStack) -> None:
    async with stack.client() as browser:
        page = await browser.get("/masuk")
        assert page.status_code == 200
        assert '<html lang="id">' in page.text
        assert "Kota Kendari · Kepala unit kerja" in page.text  # demo NIPs grouped by region and role
        assert 'for="nip"' in page.text
        r = await browser.post(
            "/masuk", data={"nip": STAFF, "csrf_token": csrf_from(page.text), "lanjut": "/pengajuan/saya"}
        )
        assert r.status_code == 303 and r.headers["location"] == "/pengajuan/saya"
        cookie = r.headers["set-cookie"].lower()
        assert "lentur_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # plain http here; https requests get Secure
        api = await browser.get("/api/requests?mine=true")
        assert api.status_code == 200 and api.json() == []
        home = await browser.get("/")
        assert "Putri Teguh" in home.text


async def test_a_post_without_the_sessions_csrf_token_is_refused(stack: RunningStack) -> None:
    async with stack.client() as anonymous:
        r = await anonymous.post("/masuk", data={"nip": STAFF})
        assert r.status_code == 403
        assert "lentur_session" not in r.headers.get("set-cookie", "")
    asn = await portal_client(stack, STAFF_3)
    other = await portal_client(stack, STAFF_2)
    try:
        stolen = await token_of(other)
        for token in (None, "", stolen):
            data = dict(WFH, idem="x") | ({"csrf_token": token} if token is not None else {})
            r = await asn.post("/pengajuan", data=data)
            assert r.status_code == 403, token
            assert "Formulir ditolak" in r.text
        assert (await asn.get("/api/requests?mine=true")).json() == []
        assert (await asn.post("/keluar")).status_code == 403
        r = await asn.post("/pengajuan", data=dict(WFH, csrf_token=await token_of(asn, "/pengajuan"), idem="k1"))
        assert r.status_code == 303, r.text
        mine = (await asn.get("/api/requests?mine=true")).json()
        assert len(mine) == 1 and mine[0]["status"] == "PENDING"
        cancelled = await asn.post(
            f"/pengajuan/{mine[0]['id']}/batal", data={"csrf_token": await token_of(asn), "alasan_batal": "batal"}
        )
        assert cancelled.status_code == 303
    finally:
        await asn.aclose()
        await other.aclose()


async def test_a_refusal_is_explained_with_the_clause_that_caused_it(stack: RunningStack) -> None:
    asn = await portal_client(stack, STAFF)
    try:
        token = await token_of(asn, "/pengajuan")
        body = {
            "jenis": "CUTI_TAHUNAN",
            "mulai": "2025-12-01",
            "sampai": "2025-12-02",
            "alasan": "Urusan keluarga",
            "alamat_cuti": "Jl. Sao-Sao 3, Kendari",
            "telepon_cuti": "0812 4000 1111",
        }
        preview = await asn.post("/pengajuan/pratinjau", data=dict(body, csrf_token=token))
        assert preview.status_code == 200
        assert "akan ditolak" in preview.text and "sudah lewat" in preview.text
        r = await asn.post("/pengajuan", data=dict(body, csrf_token=token, idem="refused"))
        assert r.status_code == 422
        assert "Pengajuan ditolak oleh kebijakan" in r.text
        assert "Kerja fleksibel dan cuti diajukan dan mendapat persetujuan sebelum dilaksanakan." in r.text
        assert "SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025" in r.text
        assert "past_date" in r.text
        missing = await asn.post("/pengajuan", data={"jenis": "WFA", "tanggal": "2025-12-29", "csrf_token": token})
        assert missing.status_code == 422
        assert "Isi lokasi kerja" in missing.text and "Isi alasan pengajuan" in missing.text
        assert (await asn.get("/api/requests?mine=true")).json() == []
    finally:
        await asn.aclose()


async def test_the_route_is_shown_before_submitting(stack: RunningStack) -> None:
    asn = await portal_client(stack, STAFF)
    try:
        token = await token_of(asn, "/pengajuan")
        body = {"jenis": "WFA", "tanggal": ["2025-12-30"], "lokasi": "Kuala Lumpur", "negara": "MY", "alasan": ""}
        r = await asn.post("/pengajuan/pratinjau", data=dict(body, csrf_token=token), headers={"HX-Request": "true"})
        assert r.status_code == 200
        steps = re.findall(r"<strong>([^<]+)</strong> — ([^(]+)\(", r.text)
        assert [(t, n.strip()) for t, n in steps] == [
            ("Kepala unit kerja", "Indah Sari"),
            ("Kepala perangkat daerah", "Yusuf Indah"),
            ("PPK", "Citra Kurnia"),
        ]
        assert 'id="galat-alasan" hx-swap-oob="true"' in r.text  # an empty reason is not nagged about yet
        assert (await asn.get("/api/requests?mine=true")).json() == []  # a dry run stores nothing
    finally:
        await asn.aclose()


async def test_the_form_offers_a_pppk_only_the_leave_kinds_their_status_allows(stack: RunningStack) -> None:
    pppk = await portal_client(stack, PPPK)
    pns = await portal_client(stack, STAFF_3)
    junior = await portal_client(stack, STAFF)
    try:
        offered = set(re.findall(r'name="jenis" value="([A-Z_]+)"', (await pppk.get("/pengajuan")).text))
        assert offered == {"WFH", "WFA", "CUTI_TAHUNAN", "CUTI_SAKIT", "CUTI_MELAHIRKAN", "IZIN_LUAR_NEGERI"}
        offered_pns = set(re.findall(r'name="jenis" value="([A-Z_]+)"', (await pns.get("/pengajuan")).text))
        assert {"CUTI_BESAR", "CUTI_ALASAN_PENTING"} <= offered_pns
        # cuti besar needs five years since the TMT in the NIP (2021 here), so it is not offered at all
        offered_junior = set(re.findall(r'name="jenis" value="([A-Z_]+)"', (await junior.get("/pengajuan")).text))
        assert "CUTI_BESAR" not in offered_junior and "CUTI_ALASAN_PENTING" in offered_junior
        r = await pppk.post(
            "/pengajuan",
            data={
                "jenis": "CUTI_BESAR",
                "mulai": "2025-12-29",
                "alasan": "x",
                "csrf_token": await token_of(pppk, "/pengajuan"),
            },
        )
        assert r.status_code == 422 and "Pilih jenis pengajuan yang tersedia untuk Anda" in r.text
    finally:
        await pppk.aclose()
        await pns.aclose()
        await junior.aclose()


async def test_approver_must_comment_to_return_and_the_requester_resubmits(stack: RunningStack) -> None:
    created = await _api_submit(
        stack, STAFF_2, {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Renovasi rumah", "work_plan": "Rekap"}
    )
    head = await portal_client(stack, UNIT_HEAD)
    asn = await portal_client(stack, STAFF_2)
    try:
        inbox = await head.get("/kotak-masuk")
        assert "Kurnia Made" in inbox.text and "Gambaran unit" in inbox.text
        task = await _task_of(stack, UNIT_HEAD, created["id"])
        assert task is not None
        token = csrf_from(inbox.text)
        r = await head.post(
            f"/kotak-masuk/{task['task_id']}/keputusan", data={"keputusan": "return", "csrf_token": token}
        )
        assert r.status_code == 422 and "Catatan wajib diisi" in r.text
        assert await _task_of(stack, UNIT_HEAD, created["id"]) is not None  # nothing was decided
        r = await head.post(
            f"/kotak-masuk/{task['task_id']}/keputusan",
            data={"keputusan": "return", "catatan": "Lengkapi rencana kerja harian", "csrf_token": token},
        )
        assert r.status_code == 303

        detail = await asn.get(f"/pengajuan/{created['id']}")
        assert "Dikembalikan untuk perbaikan" in detail.text and "Lengkapi rencana kerja harian" in detail.text
        form = await asn.get(f"/pengajuan/{created['id']}/ajukan-ulang")
        assert form.status_code == 200 and "Renovasi rumah" in form.text  # prefilled
        r = await asn.post(
            f"/pengajuan/{created['id']}/ajukan-ulang",
            data={
                "jenis": "WFH",
                "tanggal": "2025-12-31",
                "alasan": "Renovasi rumah",
                "rencana_kerja": "Rekap harian data angkutan per trayek",
                "csrf_token": csrf_from(form.text),
            },
        )
        assert r.status_code == 303, r.text
        after = await asn.get(f"/pengajuan/{created['id']}")
        assert "Diajukan ulang" in after.text  # the timeline shows the resubmission event
        async with await stack.as_user(STAFF_2) as api:
            state = (await api.get(f"/api/requests/{created['id']}")).json()
        assert state["status"] == "PENDING" and state["round"] == 2
    finally:
        await head.aclose()
        await asn.aclose()


async def test_bulk_approve_and_acting_for(stack: RunningStack) -> None:
    first = await _api_submit(stack, STAFF, {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Anak sakit"})
    second = await _api_submit(stack, STAFF_3, {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Orang tua sakit"})
    head = await portal_client(stack, UNIT_HEAD)
    try:
        filtered = (await head.get("/kotak-masuk?tanggal=2025-12-30&jenis=WFH")).text
        assert "Indah Made · Kerja dari rumah" in filtered and "Putri Teguh · " not in filtered
        ids = [(await _task_of(stack, UNIT_HEAD, r["id"]) or {})["task_id"] for r in (first, second)]
        r = await head.post(
            "/kotak-masuk/setujui-terpilih", data={"tugas": ids, "csrf_token": await token_of(head, "/kotak-masuk")}
        )
        assert r.status_code == 303
        assert "2 pengajuan disetujui" in (await head.get(r.headers["location"])).text
        for created in (first, second):
            assert await _task_of(stack, UNIT_HEAD, created["id"]) is None
            assert (await _task_of(stack, OPD_HEAD, created["id"]) or {}).get("tier") == "OPD_HEAD"
    finally:
        await head.aclose()

    await _api_submit(stack, U2_STAFF, {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Banjir"})
    acting = await portal_client(stack, U2_ACTING)
    try:
        page = (await acting.get("/kotak-masuk")).text
        assert "Joko Wulan" in page
        assert "a.n. Putri Hendra" in page
    finally:
        await acting.aclose()


async def test_inspector_searches_reads_hashes_and_verifies(stack: RunningStack) -> None:
    created = await _api_submit(stack, STAFF, {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Perbaikan atap"})
    asn = await portal_client(stack, STAFF)
    inspector = await portal_client(stack, INSPECTOR)
    try:
        assert (await asn.get("/audit")).status_code == 403
        found = await inspector.get(f"/audit?nip={STAFF}&opd=DISHUB&dari=2025-12-22&sampai=2025-12-22")
        assert found.status_code == 200 and f"/audit/pengajuan/{created['id']}" in found.text
        none = await inspector.get("/audit?opd=DISKOMINFO")
        assert f"/audit/pengajuan/{created['id']}" not in none.text
        trail = await inspector.get(f"/audit/pengajuan/{created['id']}")
        async with await stack.as_user(INSPECTOR) as api:
            events = (await api.get(f"/api/audit/requests/{created['id']}")).json()
        assert all(e["hash"] in trail.text for e in events)
        assert "Pengajuan dikirim" in trail.text
        r = await inspector.post("/audit/verifikasi", data={"csrf_token": csrf_from(trail.text)})
        assert r.status_code == 200 and "Log utuh" in r.text
        assert 'href="/api/audit/export?from=' in found.text
    finally:
        await asn.aclose()
        await inspector.aclose()


async def test_the_public_board_counts_people_but_never_names_them(stack: RunningStack) -> None:
    created = await _api_submit(
        stack,
        U2_STAFF,
        {"kind": "WFA", "dates": ["2025-12-30"], "location": {"text": "Bali", "country": "ID"}, "reason": "Keluarga"},
    )
    task = await _task_of(stack, U2_ACTING, created["id"])
    assert task is not None
    await _approve_all(stack, created["id"], (U2_ACTING, OPD_HEAD))

    signed_in = await portal_client(stack, UNIT_HEAD)
    try:
        inside = (await signed_in.get("/papan?tanggal=2025-12-30&opd=DISHUB")).text
        assert "Joko Wulan" in inside
    finally:
        await signed_in.aclose()
    requester = await portal_client(stack, U2_STAFF)
    try:
        # approved on 22 Dec for the 30th: the duties are not scheduled yet, but the requester already sees them
        page = (await requester.get(f"/pengajuan/{created['id']}")).text
        assert "Jadwalnya dibuat ketika hari pertama yang disetujui dimulai (Selasa, 30 Desember 2025)" in page
        assert "Laporan kegiatan harian, paling lambat pukul 23:59 WITA" in page
    finally:
        await requester.aclose()
    async with stack.client() as public:
        r = await public.get("/papan/publik?wilayah=kendari&tanggal=2025-12-30&opd=DISHUB")
        assert r.status_code == 200
        assert "Dinas Perhubungan" in r.text and "grafik-papan" in r.text
        row = re.search(
            r"<th scope=\"row\">Bidang 2</th>\s*<td>(\d+)</td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>\s*<td>(\d+)", r.text
        )
        assert row and row.groups() == ("5", "4", "0", "1")  # DISHUB-U2: 5 people, 4 in office, 1 WFA
        whole = await public.get("/papan/publik?wilayah=kendari&tanggal=2025-12-30")
        assert "Diskominfo" in whole.text
        # the Wali Kota is a unit of one: the public sees the unit's size, never where its one person is
        head = re.search(r"<th scope=\"row\">Kepala Daerah</th>\s*<td>1</td>\s*<td[^>]*>([^<]*)</td>", whole.text)
        assert head and head.group(1).startswith("tidak dirinci")
        people = [line.split(",") for line in SAMPLE_DIRECTORY.read_text().splitlines()[1:]]
        for page in (r.text, whole.text):
            leaked = [p[1] for p in people if p[1] in page] + [p[0] for p in people if p[0] in page]
            assert leaked == []


async def test_the_leave_form_asks_for_the_address_phone_and_documents_and_lists_them_after(
    stack: RunningStack,
) -> None:
    asn = await portal_client(stack, STAFF_3)
    head = await portal_client(stack, UNIT_HEAD)
    try:
        form = await asn.get("/pengajuan")
        assert 'name="alamat_cuti"' in form.text and 'name="telepon_cuti"' in form.text
        assert 'enctype="multipart/form-data"' in form.text
        sick = form.text[form.text.index('id="dokumen-CUTI_SAKIT"') :]
        sick = sick[: sick.index("</fieldset>")]
        assert "Surat keterangan dokter</strong> — wajib bila lebih dari 1 hari" in sick and "Pasal 320" in sick

        token = csrf_from(form.text)
        sick_leave = {
            "jenis": "CUTI_SAKIT",
            "mulai": "2026-01-05",
            "sampai": "2026-01-06",
            "alasan": "Rawat inap",
            "csrf_token": token,
        }
        no_address = await asn.post("/pengajuan", data=sick_leave)
        assert no_address.status_code == 422 and "Isi alamat selama menjalankan cuti" in no_address.text

        filled = {**sick_leave, "alamat_cuti": "RSUD Kota Kendari", "telepon_cuti": "0812 4000 2222"}
        no_certificate = await asn.post("/pengajuan", data=filled)
        assert no_certificate.status_code == 422 and "surat keterangan dokter" in no_certificate.text
        assert "Pengajuan ditolak oleh kebijakan" in no_certificate.text

        pdf = b"%PDF-1.4\n%%EOF\n"
        sent = await asn.post(
            "/pengajuan", data=filled, files={"lampiran": ("surat-dokter.pdf", pdf, "application/pdf")}
        )
        assert sent.status_code == 303, sent.text
        request_id = sent.headers["location"].split("/pengajuan/")[1].split("?")[0]
        for viewer in (asn, head):  # the requester and the approver see the document with its link
            page = await viewer.get(f"/pengajuan/{request_id}")
            assert "RSUD Kota Kendari" in page.text and "Dokumen pendukung" in page.text
            link = re.search(
                r'<a href="(/api/requests/[^"]+/attachments/[^"]+)" download>surat-dokter.pdf</a>', page.text
            )
            assert link is not None
            assert (await viewer.get(link.group(1))).content == pdf
    finally:
        await asn.aclose()
        await head.aclose()
