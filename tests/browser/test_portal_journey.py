"""A real browser (Debian's Chromium, driven by Playwright) through the portal: the Kendari journey from
submission through three approvals to the inspector's verification, and a refusal explained by its clause.
Screenshots land in test-artifacts/screenshots/ with stable names."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from deploy.infra import InfraAddresses
from tests.browser.support import NEEDS_CHROMIUM, Session, sign_in
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

ASN = "199505042021012163"  # Putri Teguh, DISHUB-U1
UNIT_HEAD = "197506201999081160"  # Indah Sari
OPD_HEAD = "199503222018022159"  # Yusuf Indah
PPK = "198609222008011156"  # Citra Kurnia, Wali Kota
INSPECTOR = "199412172016012157"  # Eka Andi


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def decide_in_inbox(stack: RunningStack, browser: object, nip: str, requester: str, shot: str) -> None:
    s = await sign_in(stack, browser, nip)
    page = s.page
    await page.goto("/kotak-masuk")  # type: ignore[attr-defined]
    task = page.locator("li.task", has_text=requester)  # type: ignore[attr-defined]
    await task.wait_for()
    await task.get_by_label("Catatan (wajib bila menolak atau mengembalikan)").fill("Setuju, layanan tetap berjalan")
    await s.shot(shot)
    await task.get_by_role("button", name="Setujui").click()
    await page.get_by_text("Pengajuan disetujui.").wait_for()  # type: ignore[attr-defined]
    assert await page.locator("li.task", has_text=requester).count() == 0  # type: ignore[attr-defined]
    await s.close()


async def test_kendari_journey_from_submission_to_verified_audit(stack: RunningStack, browser: object) -> None:
    asn = await sign_in(stack, browser, ASN, shot="01-masuk")
    page = asn.page
    await page.get_by_role("heading", name="Selamat datang, Putri Teguh").wait_for()  # type: ignore[attr-defined]
    await asn.shot("02-beranda")

    await page.goto("/pengajuan")  # type: ignore[attr-defined]
    await page.get_by_label("Kerja dari mana saja (WFA)").check()  # type: ignore[attr-defined]
    await page.get_by_label("Senin, 29 Desember 2025").check()  # type: ignore[attr-defined]
    await page.get_by_label("Selasa, 30 Desember 2025").check()  # type: ignore[attr-defined]
    await page.get_by_label("Lokasi (kota dan alamat singkat)").fill("Kuala Lumpur, rumah keluarga")  # type: ignore[attr-defined]
    await page.get_by_label("Negara", exact=True).select_option("MY")  # type: ignore[attr-defined]
    await page.get_by_label("Alasan", exact=True).fill("Mendampingi orang tua berobat")  # type: ignore[attr-defined]
    await page.get_by_label("Rencana kerja (boleh dikosongkan untuk cuti)").fill("Laporan lalu lintas akhir tahun")  # type: ignore[attr-defined]
    assert await page.locator("#isian-mulai").is_hidden()  # type: ignore[attr-defined]  # leave dates hidden for WFA
    await page.get_by_role("button", name="Periksa alur persetujuan").click()  # type: ignore[attr-defined]
    steps = page.locator("#pratinjau ol.route > li")  # type: ignore[attr-defined]
    await steps.nth(2).wait_for()
    texts = await steps.all_inner_texts()
    assert [t.split(" — ")[0] for t in texts] == ["Kepala unit kerja", "Kepala perangkat daerah", "PPK"]
    assert "SE Wali Kota Kendari" in texts[2]
    await asn.shot("03-pengajuan-pratinjau")
    await page.get_by_role("button", name="Kirim pengajuan").click()  # type: ignore[attr-defined]
    await page.wait_for_url(re.compile(r"/pengajuan/[0-9a-f-]{36}\?baru=1$"))  # type: ignore[attr-defined]
    request_id = re.search(r"/pengajuan/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[attr-defined,union-attr]
    await page.get_by_text("Menunggu persetujuan").first.wait_for()  # type: ignore[attr-defined]
    await asn.shot("04-pengajuan-terkirim")

    await decide_in_inbox(stack, browser, UNIT_HEAD, "Putri Teguh", "05-kotak-masuk-kepala-unit")
    await decide_in_inbox(stack, browser, OPD_HEAD, "Putri Teguh", "06-kotak-masuk-kepala-opd")
    await decide_in_inbox(stack, browser, PPK, "Putri Teguh", "07-kotak-masuk-ppk")

    await page.goto(f"/pengajuan/{request_id}")  # type: ignore[attr-defined]
    await page.locator("h1 .badge", has_text="Disetujui").wait_for()  # type: ignore[attr-defined]
    assert await page.locator(".timeline .event", has_text="Keputusan dicatat").count() == 3  # type: ignore[attr-defined]
    assert await page.locator(".timeline .event", has_text="Pengajuan disetujui").count() == 1  # type: ignore[attr-defined]
    await asn.shot("08-pengajuan-disetujui")
    await page.get_by_role("button", name="Keluar").click()  # type: ignore[attr-defined]
    await page.wait_for_url(re.compile(r"/masuk$"))  # type: ignore[attr-defined]
    await asn.close()

    inspector = await sign_in(stack, browser, INSPECTOR)
    page = inspector.page
    await page.goto("/audit")  # type: ignore[attr-defined]
    await page.get_by_role("button", name="Verifikasi sekarang").click()  # type: ignore[attr-defined]
    verdict = page.locator("#hasil-verifikasi")  # type: ignore[attr-defined]
    await verdict.get_by_text("Log utuh.").wait_for()
    assert "peristiwa" in await verdict.inner_text()
    assert await page.locator("#tautan-ekspor").get_attribute("href") is not None  # type: ignore[attr-defined]
    await inspector.shot("09-audit-verifikasi")
    await page.get_by_label("NIP (pengaju atau pejabat yang bertindak)").fill(ASN)  # type: ignore[attr-defined]
    await page.get_by_role("button", name="Cari").click()  # type: ignore[attr-defined]
    await page.locator(f"a[href='/audit/pengajuan/{request_id}']").click()  # type: ignore[attr-defined]
    await page.get_by_role("heading", name=re.compile("Jejak peristiwa")).wait_for()  # type: ignore[attr-defined]
    assert await page.locator(".timeline .hashes").count() >= 8  # type: ignore[attr-defined]
    await inspector.shot("10-audit-jejak")

    await page.goto("/papan?tanggal=2025-12-29")  # type: ignore[attr-defined]
    await page.locator("#grafik-papan[data-drawn='true']").wait_for()  # type: ignore[attr-defined]
    assert "Putri Teguh" in await page.locator("section.opd", has_text="Dinas Perhubungan").inner_text()  # type: ignore[attr-defined]
    await inspector.shot("11-papan-opd")
    await inspector.close()

    public_context = await browser.new_context(base_url=stack.base_url, locale="id-ID")  # type: ignore[attr-defined]
    public = Session(stack, public_context, await public_context.new_page())
    await public.page.goto("/papan/publik?wilayah=kendari&tanggal=2025-12-29")  # type: ignore[attr-defined]
    await public.page.locator("#grafik-papan[data-drawn='true']").wait_for()  # type: ignore[attr-defined]
    assert "Putri Teguh" not in await public.page.content()  # type: ignore[attr-defined]
    await public.shot("12-papan-publik")
    await public.close()


async def test_a_refusal_is_shown_with_its_citation_on_a_phone(stack: RunningStack, browser: object) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    asn = await sign_in(stack, browser, ASN, **phone)
    page = asn.page
    await page.goto("/pengajuan")  # type: ignore[attr-defined]
    await page.keyboard.press("Tab")  # type: ignore[attr-defined]
    focused = await page.evaluate("document.activeElement.textContent")  # type: ignore[attr-defined]
    assert focused.strip() == "Lewati ke isi halaman"  # keyboard users can skip the menu
    await page.get_by_label("Cuti tahunan", exact=True).check()  # type: ignore[attr-defined]
    assert await page.locator("input[name='tanggal']").first.is_hidden()  # type: ignore[attr-defined]
    await page.get_by_label("Mulai", exact=True).fill("2025-12-01")  # type: ignore[attr-defined]
    await page.get_by_label("Sampai dengan").fill("2025-12-01")  # type: ignore[attr-defined]
    await page.get_by_label("Alamat selama menjalankan cuti").fill("Jl. Sao-Sao 3, Kendari")  # type: ignore[attr-defined]
    await page.get_by_label("Nomor telepon").fill("0812 4000 1111")  # type: ignore[attr-defined]
    assert await page.locator("#dokumen-CUTI_TAHUNAN").is_visible()  # type: ignore[attr-defined]
    assert await page.locator("#dokumen-CUTI_SAKIT").is_hidden()  # type: ignore[attr-defined]
    remote = page.get_by_label("Cuti dijalankan di tempat yang sulit perhubungannya")  # type: ignore[attr-defined]
    assert await remote.is_visible() and not await remote.is_checked()  # annual leave only, unticked by default
    await page.get_by_label("Alasan", exact=True).fill("Urusan keluarga")  # type: ignore[attr-defined]
    await page.get_by_role("button", name="Periksa alur persetujuan").click()  # type: ignore[attr-defined]
    await page.locator("#pratinjau").get_by_text("Pengajuan ini akan ditolak").wait_for()  # type: ignore[attr-defined]
    await asn.shot("13-pengajuan-ponsel-pratinjau-ditolak")
    asn.expected.append("422")  # the refused form comes back as 422 Unprocessable Entity
    await page.get_by_role("button", name="Kirim pengajuan").click()  # type: ignore[attr-defined]
    refusal = page.locator("#penolakan")  # type: ignore[attr-defined]
    await refusal.wait_for()
    text = await refusal.inner_text()
    assert "Kerja fleksibel dan cuti diajukan dan mendapat persetujuan sebelum dilaksanakan." in text
    assert "SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025" in text
    await asn.shot("14-penolakan-dengan-kutipan")
    await asn.close()
