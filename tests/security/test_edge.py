"""The HTTP edge against the real stack: tokens, dev sign-in, input limits, write rate, headers, and logs."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import structlog

from deploy.infra import InfraAddresses
from services.kernel.auth import TokenService
from tests.conftest import create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

KENDARI_STAFF = "199505042021012163"  # Putri Teguh, DISHUB-U1
KENDARI_UNIT_HEAD = "197506201999081160"  # Indah Sari, DISHUB-U1
KENDARI_ADMIN = "199702202019041158"
RATE_TESTER = "198402032007112172"  # Made Indah, DPMPTSP-U1 (used by the rate test only)
LOG_TESTER = "197111271997062173"  # Yusuf Sari, DPMPTSP-U1 (used by the log test only)
REPORT_TESTER = "199412172016012157"  # Eka Andi, Kendari inspector (used by the report-size test only)
BURST = 8
UPLOAD_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(
        infra,
        await create_database(infra, prefix="edge"),
        write_burst=BURST,
        write_rate_per_minute=6,
        max_upload_body_bytes=UPLOAD_LIMIT,
    ) as running:
        yield running


def _tokens(stack: RunningStack, **kwargs: int) -> TokenService:
    return TokenService(stack.settings.jwt_secret.get_secret_value(), 3600, **kwargs)


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": KENDARI_STAFF,
        "iss": "lentur",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def _status_with(stack: RunningStack, token: str) -> tuple[int, str | None]:
    async with stack.client() as http:
        r = await http.get("/api/requests", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json().get("code") if r.status_code != 200 else None


async def test_a_valid_token_reads_and_a_refused_one_says_why(stack: RunningStack) -> None:
    secret = stack.settings.jwt_secret.get_secret_value()
    good = jwt.encode(_claims(), secret, algorithm="HS256")
    assert await _status_with(stack, good) == (200, None)

    expired, _ = _tokens(stack).issue(KENDARI_STAFF, now=datetime.now(UTC) - timedelta(hours=2))
    assert await _status_with(stack, expired) == (401, "token_expired")

    # Tampered: the payload now names the admin, the signature is still the staff member's.
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = KENDARI_ADMIN
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert await _status_with(stack, f"{header}.{forged_payload}.{signature}") == (401, "invalid_token")

    other_secret = jwt.encode(_claims(), "someone-else-entirely-" + "x" * 20, algorithm="HS256")
    assert await _status_with(stack, other_secret) == (401, "invalid_token")
    unsigned = jwt.encode(_claims(), key=None, algorithm="none")
    assert await _status_with(stack, unsigned) == (401, "invalid_token")
    no_expiry = jwt.encode(_claims(exp=None), secret, algorithm="HS256")
    assert await _status_with(stack, no_expiry) == (401, "invalid_token")
    wrong_issuer = jwt.encode(_claims(iss="elsewhere"), secret, algorithm="HS256")
    assert await _status_with(stack, wrong_issuer) == (401, "invalid_token")
    assert await _status_with(stack, KENDARI_STAFF) == (401, "invalid_token")  # a bare NIP is never a credential


async def test_clock_skew_is_tolerated_only_within_the_leeway(stack: RunningStack) -> None:
    secret = stack.settings.jwt_secret.get_secret_value()
    leeway = stack.settings.jwt_leeway_seconds
    soon = datetime.now(UTC) + timedelta(seconds=leeway // 3)
    later = datetime.now(UTC) + timedelta(seconds=leeway * 10)
    assert await _status_with(stack, jwt.encode(_claims(iat=soon, nbf=soon), secret, algorithm="HS256")) == (
        200,
        None,
    )
    assert await _status_with(stack, jwt.encode(_claims(nbf=later), secret, algorithm="HS256")) == (
        401,
        "invalid_token",
    )
    assert await _status_with(stack, jwt.encode(_claims(iat=later, nbf=None), secret, algorithm="HS256")) == (
        401,
        "invalid_token",
    )
    just_expired = datetime.now(UTC) - timedelta(seconds=leeway // 3)
    assert await _status_with(stack, jwt.encode(_claims(exp=just_expired), secret, algorithm="HS256")) == (200, None)


async def test_dev_sign_in_is_refused_unless_enabled(stack: RunningStack) -> None:
    async with stack.client() as http:
        assert (await http.post("/api/dev/token", json={"nip": KENDARI_STAFF})).status_code == 200
        stack.settings.dev_auth = False
        try:
            r = await http.post("/api/dev/token", json={"nip": KENDARI_STAFF})
        finally:
            stack.settings.dev_auth = True
    assert r.status_code == 404 and r.json()["code"] == "dev_auth_disabled"
    assert "access_token" not in r.text


async def test_bodies_over_the_limit_are_refused_declared_or_streamed(stack: RunningStack) -> None:
    big_reason = "a" * (stack.settings.max_json_body_bytes + 1)
    body = json.dumps({"kind": "WFH", "dates": ["2025-12-30"], "reason": big_reason}).encode()

    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            yield data[start : start + 16 * 1024]

    async with await stack.as_user(KENDARI_ADMIN) as admin:
        declared = await admin.post("/api/delegations", content=body, headers={"content-type": "application/json"})
        streamed = await admin.post(
            "/api/delegations", content=chunked(body), headers={"content-type": "application/json"}
        )

        csv = b"nip,name\n" + b"1,x\n" * (UPLOAD_LIMIT // 4)
        streamed_csv = await admin.post(
            "/api/admin/directory", content=chunked(csv), headers={"content-type": "text/csv"}
        )
        # A small streamed body still gets through to the handler (which then judges it as usual).
        small = json.dumps({"kind": "WFH", "dates": ["2025-12-30"], "reason": "x" * 5000}).encode()
        streamed_small = await admin.post(
            "/api/requests", content=chunked(small), headers={"content-type": "application/json"}
        )
    for r in (declared, streamed, streamed_csv):
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "too_large"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "transfer-encoding" in streamed.request.headers and "content-length" not in streamed.request.headers
    assert streamed_small.status_code == 422 and streamed_small.json()["code"] == "validation_error"
    assert streamed_small.json()["errors"][0]["loc"][-1] == "reason"  # over 4000 characters


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/requests",
            {
                "kind": "WFH",
                "dates": [f"2026-01-{d:02d}" for d in range(1, 32)] * 3 + ["2026-02-01"] * 2,
                "reason": "x",
            },
            "dates",
        ),
        (
            "/api/requests",
            {"kind": "WFA", "dates": ["2025-12-30"], "reason": "x", "location": {"text": "y" * 201}},
            "text",
        ),
        ("/api/requests", {"kind": "WFH", "dates": ["2025-12-30"], "reason": "x" * 4001}, "reason"),
        ("/api/requests", {"kind": "WFH", "dates": ["2025-12-30"], "reason": " \n\t "}, "reason"),
        ("/api/requests", {"kind": "WFH", "dates": ["2025-12-30"], "reason": "half a pair \ud800"}, "reason"),
        ("/api/tasks/decisions", {"items": [{"task_id": "t", "decision": "approve"}] * 101}, "items"),
        ("/api/tasks/decisions", {"items": [{"task_id": "t", "decision": "reject", "comment": "c" * 2001}]}, "comment"),
    ],
)
async def test_list_and_string_lengths_are_bounded(stack: RunningStack, path: str, body: dict, field: str) -> None:
    async with await stack.as_user(KENDARI_UNIT_HEAD) as head:
        # json.dumps escapes a lone surrogate as \ud800, the way a hostile client would send it
        r = await head.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert any(err["loc"][-1] == field or field in err["loc"] for err in r.json()["errors"])


async def test_writes_are_rate_limited_per_subject_with_retry_after(stack: RunningStack) -> None:
    async with await stack.as_user(RATE_TESTER) as asn, await stack.as_user(KENDARI_STAFF) as colleague:
        answers = [(await asn.post("/api/requests", json={"kind": "WFH"})).status_code for _ in range(BURST + 2)]
        assert answers[:BURST] == [422] * BURST  # each write counts, even a refused one
        limited = await asn.post("/api/requests", json={"kind": "WFH"})
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")
        # reads go on, and another person's writes are not held back
        assert (await asn.get("/api/requests")).status_code == 200
        assert (await colleague.post("/api/requests", json={"kind": "WFH"})).status_code == 422


async def test_pages_and_answers_carry_the_security_headers(stack: RunningStack) -> None:
    async with stack.client() as http:
        page = await http.get("/masuk")
        api = await http.get("/api/tasks")
        asset = await http.get("/static/css/portal.css")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for r in (page, api):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
    assert asset.status_code == 200 and asset.headers.get("cache-control") != "no-store"
    session = page.cookies
    assert all(cookie.name != "lentur_session" for cookie in session.jar)
    signed_in = await http_sign_in(stack)
    assert "httponly" in signed_in.lower() and "samesite=lax" in signed_in.lower()


async def http_sign_in(stack: RunningStack) -> str:
    """Sign in through the portal form and return the session cookie's Set-Cookie header."""
    import re

    async with stack.client() as http:
        form = await http.get("/masuk")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf, "sign-in form carries a CSRF token"
        r = await http.post("/masuk", data={"csrf_token": csrf.group(1), "nip": KENDARI_STAFF})
    assert r.status_code in (302, 303), r.text
    return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("lentur_session="))


async def test_logs_never_carry_personal_data_beyond_the_nip(
    stack: RunningStack, caplog: pytest.LogCaptureFixture
) -> None:
    reason = "Merawat ibu pascaoperasi di RS Bhayangkara"
    place = "Jl. Mekar Sari No. 17, Kambu"
    plan = "Menyusun telaahan staf tarif parkir"
    comment = "Disetujui, semoga lekas pulih ibunya"
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        async with await stack.as_user(LOG_TESTER) as asn:
            r = await asn.post(
                "/api/requests",
                json={
                    "kind": "WFA",
                    "dates": ["2025-12-29"],
                    "location": {"text": place, "country": "ID"},
                    "reason": reason,
                    "work_plan": plan,
                },
            )
            assert r.status_code == 201, r.text
            created = r.json()
            refused = await asn.post("/api/requests", json={"kind": "WFX", "dates": ["2025-12-29"], "reason": reason})
            assert refused.status_code == 422
        head_nip = created["route_steps"][0]["approver_nip"]
        async with await stack.as_user(head_nip) as head:
            r = await head.post(
                f"/api/tasks/{created['current_task_id']}/decision", json={"decision": "return", "comment": comment}
            )
            assert r.status_code == 200, r.text
    name = created["requester"]["name"]
    logged = [json.dumps(entry, default=str) for entry in captured] + [rec.getMessage() for rec in caplog.records]
    assert any(LOG_TESTER in line for line in logged), "the NIP is what identifies the actor in logs"
    for secret in (reason, place, plan, comment, name):
        leaks = [line for line in logged if secret in line]
        assert not leaks, f"{secret!r} appeared in the logs: {leaks[:2]}"


async def test_a_report_may_carry_its_attachment_but_no_more(stack: RunningStack) -> None:
    """Daily reports get a larger body limit (a 2 MiB attachment in base64), as do leave requests (five
    documents); every other JSON body does not."""
    import uuid

    attachment = base64.b64encode(b"r" * (2 * 1024 * 1024 - 1)).decode()
    report = {"text": "Rekap harian", "attachment": {"name": "rekap.txt", "content_base64": attachment}}
    async with await stack.as_user(REPORT_TESTER) as admin:
        fits = await admin.post(f"/api/requests/{uuid.uuid4()}/reports", json=report)
        elsewhere = await admin.post(
            "/api/delegations", json={"delegate_nip": "1" * 18, "tiers": ["UNIT_HEAD"], "reason": attachment}
        )
        oversized = await admin.post(
            f"/api/requests/{uuid.uuid4()}/reports", json={**report, "text": "x" * (3 * 1024 * 1024)}
        )
    assert fits.status_code == 404 and fits.json()["code"] == "request_not_found"  # judged by the handler
    assert elsewhere.status_code == 413
    assert oversized.status_code == 413
