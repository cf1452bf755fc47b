"""Notifications and official letters on the real stack: mail through a real SMTP server, a signed webhook
to a local receiver, letters numbered, rendered, QR-coded and verified over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import holidays
import pytest
import zxingcpp
from PIL import Image

from deploy.infra import InfraAddresses
from deploy.mail_sink import MailSink
from deploy.processes import free_port
from eventstore.db import create_pool
from eventstore.relay import message_body, subject_for
from eventstore.store import PostgresEventStore
from runtime.clock import Clock
from services.notifications.channels import EmailChannel, SmtpConfig, signature_valid
from services.notifications.dispatcher import NotificationDispatcher
from tests.conftest import ARTIFACTS, create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

BASE_URL = "https://lentur.example"
WEBHOOK_SECRET = "rahasia-gateway-whatsapp-pemda-kendari-2025"
MAIL_DOMAIN = "demo.lentur.invalid"

STAFF = "199505042021012163"  # Putri Teguh, DISHUB-U1
UNIT_HEAD = "197506201999081160"  # Indah Sari, DISHUB-U1
OPD_HEAD = "199503222018022159"  # Yusuf Indah, DISHUB
PPK = "198609222008011156"  # Citra Kurnia, Wali Kota
INSPECTOR = "199412172016012157"
U2_HEAD = "198110052005061165"  # Putri Hendra, DISHUB-U2, away: Dewi Sari is her Plh
U2_PLH = "197001011996062169"
U2_STAFF = "198912022013092166"  # Joko Wulan
INFO_HEAD = "199306072018061182"  # Made Teguh, DISKOMINFO-U1
INFO_STAFF = "197101041993101185"  # Lestari Eka
INFO2_HEAD = "199710252021041187"  # Made Dewi, DISKOMINFO-U2
INFO2_STAFF = "197604041998011188"  # Joko Rahmat
STRANGER = "197209011995051181"  # Gita Fajar, head of DISKOMINFO


class Receiver:
    """A webhook gateway stand-in on a loopback port, started only when the test says so."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    mail = MailSink(tmp_path_factory.mktemp("sink") / "mail")
    mail.start()
    yield mail
    mail.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    gateway = Receiver(free_port())
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses, sink: MailSink, receiver: Receiver) -> AsyncIterator[RunningStack]:
    async with running_stack(
        infra,
        await create_database(infra),
        smtp_url=sink.url,
        mail_fallback_domain=MAIL_DOMAIN,
        public_base_url=BASE_URL,
        notify_webhook_url=f"http://127.0.0.1:{receiver.port}/lentur",
        notify_webhook_secret=WEBHOOK_SECRET,
        notify_retry_base_seconds=0.3,
        notify_retry_max_seconds=1.0,
        verify_rate_limit="60/minute",
    ) as running:
        yield running


# -- helpers --------------------------------------------------------------------------------------------


def mails(sink: MailSink) -> list[EmailMessage]:
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sink.messages()]  # type: ignore[misc]


def mails_about(sink: MailSink, request_id: str) -> list[EmailMessage]:
    return [m for m in mails(sink) if m["X-Lentur-Request"] == request_id]


def address(nip: str) -> str:
    return f"{nip}@{MAIL_DOMAIN}"


async def db(stack: RunningStack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.settings.database_url)


async def settled(stack: RunningStack, timeout: float = 60) -> None:
    """Until every projection has reached the head, every immediate mail is out and every letter job is done."""
    conn = await db(stack)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        quiet_at: int | None = None
        while True:
            # Jobs first: a letter job appends its event before it is marked done, so reading the head after
            # the jobs cannot miss that event. Settled means two quiet looks in a row at the same head.
            jobs = await conn.fetchval("SELECT count(*) FROM letter_jobs WHERE status NOT IN ('done', 'failed')")
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            lowest = await conn.fetchval(
                "SELECT min(position) FROM projection_checkpoints WHERE name IN ('read-models', 'notifier', 'letters')"
            )
            busy = await conn.fetchval(
                "SELECT count(*) FROM notification_deliveries WHERE channel = 'email' AND NOT digest "
                "AND status IN ('pending', 'sending', 'retry')"
            )
            if lowest is not None and lowest >= head and busy == 0 and jobs == 0:
                if quiet_at == head:
                    return
                quiet_at = head
            else:
                quiet_at = None
            assert asyncio.get_running_loop().time() < deadline, f"not settled: head {head}, {busy} mails, {jobs} jobs"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def submit(stack: RunningStack, nip: str, body: dict) -> dict:
    async with await stack.as_user(nip) as client:
        r = await client.post("/api/requests", json=body)
        assert r.status_code == 201, r.text
        return r.json()


async def decide(stack: RunningStack, nip: str, request_id: str, decision: str = "approve") -> dict:
    async with await stack.as_user(nip) as client:
        tasks = [t for t in (await client.get("/api/tasks")).json() if t["request_id"] == request_id]
        assert len(tasks) == 1, f"{nip} has {len(tasks)} tasks for {request_id}"
        body = {"decision": decision, "comment": "Setuju" if decision == "approve" else "Mohon diperbaiki"}
        r = await client.post(f"/api/tasks/{tasks[0]['task_id']}/decision", json=body)
        assert r.status_code == 200, r.text
        return r.json()


async def documents(stack: RunningStack, nip: str, request_id: str) -> list[dict]:
    """The letters of a request (a leave request's formulir_cuti is tested in test_leave_form.py)."""
    async with await stack.as_user(nip) as client:
        r = await client.get(f"/api/requests/{request_id}/documents")
        assert r.status_code == 200, r.text
        return [d for d in r.json() if d["kind"] != "formulir_cuti"]


LEAVE = {"leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"}}
ANNUAL_LEAVE = {
    "kind": "CUTI_TAHUNAN",
    "dates": ["2025-12-29", "2025-12-30", "2025-12-31"],
    "reason": "Pulang kampung",
    "leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"},
}
SHARED: dict[str, str] = {}


# -- an approval, told to the right people ---------------------------------------------------------------


async def test_an_approval_mails_each_approver_once_and_the_requester_once(stack: RunningStack, sink: MailSink) -> None:
    created = await submit(stack, STAFF, ANNUAL_LEAVE)
    request_id = created["id"]
    SHARED["annual"] = request_id
    for approver in (UNIT_HEAD, OPD_HEAD, PPK):
        await decide(stack, approver, request_id)
    await settled(stack)

    about = mails_about(sink, request_id)
    by_recipient: dict[str, list[str]] = {}
    for m in about:
        by_recipient.setdefault(m["X-Envelope-To"], []).append(m["X-Lentur-Kind"])
    assert by_recipient == {
        address(UNIT_HEAD): ["task_assigned"],
        address(OPD_HEAD): ["task_assigned"],
        address(PPK): ["task_assigned"],
        address(STAFF): ["request_approved"],
    }
    approved = next(m for m in about if m["X-Lentur-Kind"] == "request_approved")
    text = approved.get_content()
    assert approved["Subject"] == "[Lentur] Pengajuan cuti tahunan Anda disetujui"
    assert "Yth. Putri Teguh" in text and "29, 30 dan 31 Desember 2025" in text
    assert "WITA" in text and f"{BASE_URL}/pengajuan/{request_id}" in text
    assert ANNUAL_LEAVE["reason"] not in text  # the sealed reason never travels in a message
    task_mail = next(m for m in about if m["X-Envelope-To"] == address(PPK))
    assert "menunggu persetujuan Anda sebagai PPK" in task_mail.get_content()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(sorted(sink.messages())[-1], ARTIFACTS / "mail-sample.eml")

    async with await stack.as_user(STAFF) as asn:
        listed = await asn.get("/api/notifications")
        mine, unread = listed.json(), int(listed.headers["X-Unread-Count"])
        ours = [n for n in mine if n["request_id"] == request_id]
        kinds = [n["kind"] for n in ours]
        assert kinds == ["document_issued", "request_approved", "request_progressed", "request_progressed"]
        assert unread >= 4 and not ours[0]["read"]
        assert "800/1/DISHUB/XII/2025" in ours[0]["title"]
        assert ours[0]["created_at_local"].endswith("WITA")
        assert (await asn.post(f"/api/notifications/{ours[0]['id']}/read")).status_code == 204
        again = await asn.get("/api/notifications")
        assert next(n for n in again.json() if n["id"] == ours[0]["id"])["read"] is True
        assert int(again.headers["X-Unread-Count"]) == unread - 1
    async with await stack.as_user(UNIT_HEAD) as head:
        kinds = [n["kind"] for n in (await head.get("/api/notifications")).json() if n["request_id"] == request_id]
        assert sorted(kinds) == ["task_assigned", "unit_member_approved"]
        forged = await head.post(f"/api/notifications/{ours[0]['id']}/read")
        assert forged.status_code == 404  # somebody else's notification


async def test_a_plh_is_told_about_the_task_of_the_official_they_stand_in_for(
    stack: RunningStack, sink: MailSink
) -> None:
    created = await submit(stack, U2_STAFF, {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Anak sakit"})
    await settled(stack)
    about = mails_about(sink, created["id"])
    assert sorted(m["X-Envelope-To"] for m in about) == sorted([address(U2_HEAD), address(U2_PLH)])
    plh_mail = next(m for m in about if m["X-Envelope-To"] == address(U2_PLH))
    assert "sebagai Plt/Plh atas nama Putri Hendra" in plh_mail.get_content()


async def test_a_redelivered_or_replayed_event_sends_nothing_new(stack: RunningStack, sink: MailSink) -> None:
    request_id = SHARED["annual"]
    await settled(stack)
    conn = await db(stack)
    try:
        before_mail = len(sink.messages())
        before_rows = await conn.fetchval("SELECT count(*) FROM notifications")
        before_docs = await conn.fetchval("SELECT count(*) FROM documents")
        store = PostgresEventStore(await create_pool(stack.settings.database_url or "", min_size=1, max_size=2))
        approved = next(e for e in await store.read_stream(f"request-{request_id}") if e.type == "RequestApproved")
        await store.pool.close()

        # NATS redelivers the approval (a fresh message id, as after the duplicate window has passed) ...
        notifier = stack.projector[0].runners["notifier"]
        skipped = notifier.duplicates_skipped
        import nats

        client = await nats.connect(stack.settings.nats_url)
        try:
            await client.jetstream().publish(
                subject_for(stack.settings.nats_subject_prefix, approved),
                message_body(approved),
                headers={"Nats-Msg-Id": str(uuid.uuid4())},
            )
        finally:
            await client.close()
        for _ in range(200):
            if notifier.duplicates_skipped > skipped:
                break
            await asyncio.sleep(0.05)
        assert notifier.duplicates_skipped > skipped

        # ... and the notifier and the letter reactor are even rewound to before it and replay it.
        await conn.execute(
            "UPDATE projection_checkpoints SET position = $1 WHERE name IN ('notifier', 'letters')",
            approved.position - 1,
        )
        await settled(stack)
        assert await conn.fetchval("SELECT min(position) FROM projection_checkpoints") > approved.position
        assert len(sink.messages()) == before_mail
        assert await conn.fetchval("SELECT count(*) FROM notifications") == before_rows
        assert await conn.fetchval("SELECT count(*) FROM documents") == before_docs
    finally:
        await conn.close()


async def test_a_down_webhook_receiver_is_retried_until_it_takes_the_message(
    stack: RunningStack, receiver: Receiver
) -> None:
    async with await stack.as_user(INFO_HEAD) as head:
        r = await head.put("/api/notifications/preferences", json={"email": True, "webhook": True, "digest": False})
        assert r.status_code == 200 and r.json()["webhook"] is True
    created = await submit(stack, INFO_STAFF, {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Jaringan kantor"})
    conn = await db(stack)
    try:
        for _ in range(200):
            row = await conn.fetchrow(
                "SELECT d.* FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id "
                "WHERE d.channel = 'webhook' AND n.request_id = $1",
                uuid.UUID(created["id"]),
            )
            if row is not None and row["attempts"] >= 2:
                break
            await asyncio.sleep(0.05)
        assert row is not None and row["status"] in ("retry", "sending") and row["attempts"] >= 2
        assert "webhook" in row["last_error"]
        assert not receiver.received

        async with await stack.as_user("199702202019041158") as admin:  # Rahmat Joko, BKPSDM admin, Kendari
            problems = (await admin.get("/api/admin/notifications")).json()
            assert any(item["id"] == str(row["id"]) for item in problems["items"])
            assert problems["counts"]["webhook"]
        async with stack.client() as anonymous:
            metrics = (await anonymous.get("/metrics")).text
        retries = [
            line
            for line in metrics.splitlines()
            if line.startswith("lentur_notification_delivery_attempts_total")
            and 'channel="webhook"' in line
            and 'outcome="retry"' in line
        ]
        assert retries and float(retries[0].rsplit(" ", 1)[1]) >= 2

        receiver.start()
        for _ in range(400):
            row = await conn.fetchrow("SELECT * FROM notification_deliveries WHERE id = $1", row["id"])
            if row["status"] == "sent":
                break
            await asyncio.sleep(0.05)
        assert row["status"] == "sent"
    finally:
        await conn.close()
    headers, body = receiver.received[0]
    assert signature_valid(body, headers.get("X-Lentur-Signature"), WEBHOOK_SECRET)
    assert not signature_valid(body + b" ", headers.get("X-Lentur-Signature"), WEBHOOK_SECRET)
    message = json.loads(body)
    assert message["kind"] == "task_assigned" and message["recipient"]["nip"] == INFO_HEAD
    assert message["link"] == f"{BASE_URL}/pengajuan/{created['id']}"
    assert "Lestari Eka" in message["text"]


async def test_an_approver_who_chose_the_digest_gets_one_mail_a_day_with_the_tasks_still_open(
    stack: RunningStack, sink: MailSink
) -> None:
    async with await stack.as_user(INFO2_HEAD) as head:
        r = await head.put("/api/notifications/preferences", json={"email": True, "webhook": False, "digest": True})
        assert r.status_code == 200 and r.json()["digest"] is True
    first = await submit(stack, INFO2_STAFF, {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Renovasi"})
    second = await submit(stack, INFO2_STAFF, {"kind": "WFH", "dates": ["2025-12-30"], "reason": "Renovasi"})
    await decide(stack, INFO2_HEAD, first["id"])
    await settled(stack)
    assert not [m for m in mails(sink) if m["X-Envelope-To"] == address(INFO2_HEAD)]

    # The next morning at 07:05 WITA the digest goes out: one mail, only the task that still waits.
    pool = await asyncpg.create_pool(stack.settings.database_url, min_size=1, max_size=4)
    try:
        morning = Clock(datetime.fromisoformat("2025-12-23T07:05:00+08:00"))
        email = EmailChannel(SmtpConfig.from_url(stack.settings.smtp_url or ""), "Lentur <noreply@lentur.invalid>")
        assert await NotificationDispatcher(pool, morning, email=email).run_once() >= 2
    finally:
        await pool.close()
    digests = [m for m in mails(sink) if m["X-Envelope-To"] == address(INFO2_HEAD)]
    assert len(digests) == 1 and digests[0]["X-Lentur-Kind"] == "digest"
    text = digests[0].get_content()
    assert "1 tugas menunggu keputusan Anda" in text
    assert second["id"] in text and first["id"] not in text


# -- letters ---------------------------------------------------------------------------------------------


async def test_the_approved_leave_has_a_letter_whose_text_qr_and_hash_check_out(stack: RunningStack) -> None:
    request_id = SHARED["annual"]
    await settled(stack)
    docs = await documents(stack, STAFF, request_id)
    assert len(docs) == 1
    doc = docs[0]
    assert doc["kind"] == "surat_izin_cuti_tahunan" and doc["status"] == "issued"
    assert doc["number"] == "800/1/DISHUB/XII/2025"
    assert doc["verify_url"] == f"{BASE_URL}/verifikasi/{doc['id']}" and len(doc["id"]) >= 32
    async with await stack.as_user(PPK) as ppk:
        pdf = await ppk.get(doc["url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == doc["sha256"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "surat-izin-cuti-tahunan.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for expected in (
        "PEMERINTAH KOTA KENDARI",
        "DINAS PERHUBUNGAN",
        "SURAT IZIN CUTI TAHUNAN",
        "NOMOR: 800/1/DISHUB/XII/2025",
        "Putri Teguh",
        STAFF,
        "29 Desember 2025 s.d. 31 Desember 2025",
        "Kendari, 22 Desember 2025",
        "Wali Kota Kendari",
        "Citra Kurnia",
        f"NIP. {PPK}",
    ):
        assert expected in text, expected
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(path), str(path.with_suffix(""))], check=True)
    decoded = zxingcpp.read_barcodes(Image.open(path.with_suffix(".png")))
    assert [code.text for code in decoded] == [doc["verify_url"]]

    async with await stack.as_user(INSPECTOR) as inspector:
        assert len(await documents(stack, INSPECTOR, request_id)) == 1
        audit = (await inspector.get("/api/audit/verify")).json()
        assert audit["ok"] is True
    async with await stack.as_user(STRANGER) as stranger:
        assert (await stranger.get(f"/api/requests/{request_id}/documents")).status_code == 403
        assert (await stranger.get(doc["url"])).status_code == 403

    async with stack.client() as anyone:
        page = await anyone.get(f"/verifikasi/{doc['id']}", headers={"Accept": "application/json"})
        assert page.status_code == 200
        record = page.json()
        assert record["status"] == "genuine"
        assert record["document"]["number"] == doc["number"] and record["document"]["sha256"] == doc["sha256"]
        assert record["document"]["holder"] == {"name": "Putri Teguh", "nip": "**************2163"}
        assert record["document"]["signer"]["name"] == "Citra Kurnia"
        assert record["document"]["audit_position"] == doc["audit_position"]
        assert STAFF not in page.text and ANNUAL_LEAVE["reason"] not in page.text
        html = await anyone.get(f"/verifikasi/{doc['id']}")
        assert html.status_code == 200 and "ASLI" in html.text and doc["number"] in html.text

        genuine = await anyone.post(
            f"/verifikasi/{doc['id']}",
            files={"berkas": ("surat.pdf", pdf.content, "application/pdf")},
            headers={"Accept": "application/json"},
        )
        assert genuine.json()["upload"] == {
            "sha256": doc["sha256"],
            "match": True,
            "verdict": "genuine",
            "filename": "surat.pdf",
        }
        # A forger changes the number in the file's metadata; the page must not call it genuine.
        tampered_bytes = pdf.content.replace(b"(Nomor 800/1/DISHUB", b"(Nomor 800/7/DISHUB")
        assert tampered_bytes != pdf.content
        tampered = await anyone.post(
            f"/verifikasi/{doc['id']}", files={"berkas": ("surat.pdf", tampered_bytes, "application/pdf")}
        )
        assert tampered.status_code == 200 and "TIDAK ASLI" in tampered.text


# -- the other four regions: told, lettered and verifiable the same way ----------------------------------
# (before the probing test below, which spends the public verification page's rate limit)

OTHER_REGIONS = [  # (requester, pemda on the letterhead, place of signing, zone named in the mail)
    ("197310191996061006", "PEMERINTAH KABUPATEN KUTAI TIMUR", "Sangatta", "WITA"),  # Teguh Citra, DINKES
    ("199403062017081042", "PEMERINTAH KOTA BITUNG", "Bitung", "WITA"),  # Teguh Budi, DINKES
    ("197111101994042089", "PEMERINTAH KABUPATEN LUWU UTARA", "Masamba", "WITA"),  # Nur Sari, RSUD
    ("198512152010052125", "PEMERINTAH KABUPATEN PESISIR BARAT", "Krui", "WIB"),  # Rahmat Eka, DINKES
]


@pytest.mark.parametrize(("requester", "pemda", "seat", "zone"), OTHER_REGIONS, ids=lambda v: str(v)[:14])
async def test_annual_leave_in_every_region_is_mailed_and_lettered(
    stack: RunningStack, sink: MailSink, requester: str, pemda: str, seat: str, zone: str
) -> None:
    body = {"kind": "CUTI_TAHUNAN", "dates": ["2026-01-13", "2026-01-14"], "reason": "Urusan keluarga", **LEAVE}
    created = await submit(stack, requester, body)
    request_id = created["id"]
    approvers = [step["approver_nip"] for step in created["route_steps"]]
    assert approvers and requester not in approvers
    for approver in approvers:  # the route the region's pack set, tier by tier
        await decide(stack, approver, request_id)
    await settled(stack)

    async with await stack.as_user(requester) as asn:
        assert (await asn.get(f"/api/requests/{request_id}")).json()["status"] == "APPROVED"
    about = mails_about(sink, request_id)
    told = sorted((m["X-Envelope-To"], m["X-Lentur-Kind"]) for m in about)
    assert told == sorted(
        [(address(a), "task_assigned") for a in approvers] + [(address(requester), "request_approved")]
    )
    approved = next(m for m in about if m["X-Lentur-Kind"] == "request_approved")
    assert "13 dan 14 Januari 2026" in approved.get_content() and zone in approved.get_content()

    docs = await documents(stack, requester, request_id)
    assert [(d["kind"], d["status"]) for d in docs] == [("surat_izin_cuti_tahunan", "issued")]
    async with await stack.as_user(requester) as asn:
        pdf = await asn.get(docs[0]["url"])
    path = ARTIFACTS / f"surat-{request_id}.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    path.unlink()
    for expected in (
        pemda,
        "SURAT IZIN CUTI TAHUNAN",
        f"NOMOR: {docs[0]['number']}",
        requester,
        f"{seat}, 22 Desember 2025",
    ):
        assert expected in text, expected
    async with stack.client() as anyone:
        record = (await anyone.get(f"/verifikasi/{docs[0]['id']}", headers={"Accept": "application/json"})).json()
    assert record["status"] == "genuine" and record["document"]["sha256"] == docs[0]["sha256"]


async def approve_through_route(stack: RunningStack, request_ids: set[str]) -> list[int]:
    """Approve every request tier by tier, each approver deciding all their tasks in one bulk call.
    Returns how many decisions each round made at once."""
    rounds = []
    while True:
        waiting: dict[str, list[str]] = {}
        for request_id in request_ids:
            async with await stack.as_user(INSPECTOR) as inspector:
                request = (await inspector.get(f"/api/requests/{request_id}")).json()
            if request["status"] == "PENDING":
                step = next(s for s in request["route_steps"] if s["tier"] == request["current_tier"])
                waiting.setdefault(step["approver_nip"], []).append(request["current_task_id"])
        if not waiting:
            return rounds

        async def bulk(approver: str, task_ids: list[str]) -> int:
            async with await stack.as_user(approver) as client:
                items = [{"task_id": t, "decision": "approve", "comment": "Setuju"} for t in task_ids]
                r = await client.post("/api/tasks/decisions", json={"items": items})
                assert r.json()["succeeded"] == len(task_ids), r.text
                return len(task_ids)

        rounds.append(max(await asyncio.gather(*(bulk(a, t) for a, t in waiting.items()))))


async def test_fifty_approvals_in_one_opd_at_once_get_fifty_consecutive_numbers(stack: RunningStack) -> None:
    staff = [  # DPMPTSP, Kendari
        "198402032007112172",
        "197111271997062173",
        "197703011999011174",
        "197501251997011175",
        "197205211994122177",
        "199707242022022178",
        "197804212000022179",
        "199009222015112180",
    ]
    indonesia = holidays.country_holidays("ID", years=2026)
    workdays = [
        d.isoformat()
        for d in (date(2026, 1, 5) + timedelta(days=n) for n in range(60))
        if d.weekday() < 5 and d not in indonesia
    ]
    bodies = [
        (
            staff[i % len(staff)],
            {"kind": "CUTI_SAKIT", "dates": [workdays[i // len(staff)]], "reason": "Rawat jalan", **LEAVE},
        )
        for i in range(50)
    ]
    created = await asyncio.gather(*(submit(stack, nip, body) for nip, body in bodies))
    ids = {c["id"] for c in created}
    rounds = await approve_through_route(stack, ids)
    assert rounds[-1] == 50  # the last tier decided all fifty in one go
    await settled(stack, timeout=120)
    conn = await db(stack)
    try:
        numbered = (
            "SELECT d.sequence, d.number, e.version FROM documents d JOIN events e ON e.event_id = d.issued_event_id "
            "WHERE d.request_id = ANY($1::uuid[]) AND (d.kind = 'formulir_cuti') = $2"
        )
        rows = await conn.fetch(numbered, [uuid.UUID(i) for i in ids], False)
        forms = await conn.fetch(numbered, [uuid.UUID(i) for i in ids], True)
    finally:
        await conn.close()
    assert sorted(r["sequence"] for r in rows) == list(range(1, 51))
    assert all(r["sequence"] == r["version"] for r in rows)
    assert len({r["number"] for r in rows}) == 50
    assert {r["number"].split("/")[2] for r in rows} == {"DPMPTSP"}
    # the leave forms of the same fifty: numbered in a sequence of their own, just as gap-free
    assert sorted(r["sequence"] for r in forms) == list(range(1, 51))
    assert all(r["sequence"] == r["version"] and r["number"].startswith("800/FPC.") for r in forms)


async def test_a_cancelled_approval_revokes_its_letter_and_a_delegate_signs_on_behalf(stack: RunningStack) -> None:
    async with await stack.as_user(PPK) as holder:
        r = await holder.post(
            "/api/delegations",
            json={
                "delegate_nip": OPD_HEAD,
                "tiers": ["PPK"],
                "from": "2025-12-22T00:00:00+08:00",
                "to": "2025-12-24T00:00:00+08:00",
            },
        )
        assert r.status_code == 201, r.text
        delegation = r.json()["id"]
    try:
        created = await submit(
            stack, U2_STAFF, {"kind": "CUTI_SAKIT", "dates": ["2026-01-05"], "reason": "Operasi", **LEAVE}
        )
        await decide(stack, U2_HEAD, created["id"])
        await decide(stack, OPD_HEAD, created["id"])  # as the Wali Kota's delegate
        await settled(stack)
    finally:
        async with await stack.as_user(PPK) as holder:
            assert (await holder.delete(f"/api/delegations/{delegation}")).status_code == 204
    [doc] = await documents(stack, U2_STAFF, created["id"])
    async with await stack.as_user(U2_STAFF) as asn:
        pdf = (await asn.get(doc["url"])).content
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert "a.n. Wali Kota Kendari" in text and "Yusuf Indah" in text and "SURAT IZIN CUTI SAKIT" in text
        assert (await asn.post(f"/api/requests/{created['id']}/cancel", json={})).status_code == 200
    await settled(stack)
    [after] = await documents(stack, U2_STAFF, created["id"])
    assert after["status"] == "revoked"
    async with stack.client() as anyone:
        record = (await anyone.get(f"/verifikasi/{doc['id']}", headers={"Accept": "application/json"})).json()
        assert record["status"] == "revoked" and record["document"]["revoked_at"]
        page = await anyone.post(f"/verifikasi/{doc['id']}", files={"berkas": ("s.pdf", pdf, "application/pdf")})
        assert "SUDAH DICABUT" in page.text


async def test_unknown_letters_all_look_alike_and_probing_is_rate_limited(stack: RunningStack) -> None:
    async with stack.client() as prober:
        one = await prober.get("/verifikasi/" + "A" * 32)
        other = await prober.get("/verifikasi/not-even-an-id")
        assert one.status_code == other.status_code == 404
        assert one.text == other.text and "tidak dikenal" in one.text
        statuses = [(await prober.get(f"/verifikasi/{uuid.uuid4().hex}")).status_code for _ in range(70)]
    assert 429 in statuses and set(statuses) <= {404, 429}


async def test_a_notifier_deployed_onto_an_existing_log_does_not_mail_about_the_past(
    stack: RunningStack, sink: MailSink
) -> None:
    await settled(stack)
    before = len(sink.messages())
    await stack.stop_component("projector")
    conn = await db(stack)
    try:
        # As on the day the notifier is first deployed: no checkpoint, no notifications, a long log.
        await conn.execute("DELETE FROM notification_deliveries; DELETE FROM notifications")
        await conn.execute("DELETE FROM projection_checkpoints WHERE name = 'notifier'")
        await stack.start_component("projector")
        await settled(stack)
        head = await conn.fetchval("SELECT max(position) FROM events")
        assert await conn.fetchval("SELECT position FROM projection_checkpoints WHERE name = 'notifier'") == head
        assert await conn.fetchval("SELECT count(*) FROM notifications") == 0
    finally:
        await conn.close()
    assert len(sink.messages()) == before
    # ... and from then on it works as before.
    created = await submit(stack, INFO_STAFF, {"kind": "WFH", "dates": ["2025-12-29"], "reason": "Genset rusak"})
    await settled(stack)
    assert [m["X-Envelope-To"] for m in mails_about(sink, created["id"])] == [address(INFO_HEAD)]
