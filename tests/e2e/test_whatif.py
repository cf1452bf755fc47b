"""Policy what-if over HTTP and the CLI on the real stack: drafts judged against what was really recorded."""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from rich.console import Console

from contracts.events import RouteDetermined
from deploy.infra import InfraAddresses
from eventstore.db import create_pool
from policy.bundled import bundled_pack_texts
from policy.packs import load_pack
from runtime.settings import Settings
from services.whatif.commands import CommandFailed, report_bytes, simulate_command
from services.whatif.service import SimulationSpec, simulate
from services.whatif.simulator import Judged, Period
from tests.conftest import ARTIFACTS, create_database
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack
from tests.whatif_drafts import bitung_quarter_cap, kendari_without_ppk_for_annual_leave

pytestmark = pytest.mark.e2e

# Bitung, Dinas Dukcapil Bidang 1: five people, so 50% is 2 away a day and 25% is 1.
DUKCAPIL_U1 = ("197211241996071064", "199709222021101065", "197503092000012066", "197701102000061067")
BITUNG_INSPECTOR, BITUNG_ADMIN = "199604012020042038", "199410112018092039"
# Kendari, DPMPTSP Bidang 1
KENDARI_LEAVE = ("197111271997062173", "198402032007112172")
KENDARI_WFH = "197703011999011174"
KENDARI_INSPECTOR, KENDARI_ADMIN = "199412172016012157", "199702202019041158"
# Kendari, Dinas Perhubungan: one request straddles a new pack version (returned before, resubmitted after)
KENDARI_BEFORE, KENDARI_AFTER = "197603131999112162", "198912022013092166"
REGIONS = ("kutai-timur", "bitung", "luwu-utara", "pesisir-barat", "kendari")
INSPECTORS = {
    "kutai-timur": "197109071993022002",
    "bitung": BITUNG_INSPECTOR,
    "luwu-utara": "198205242005072085",
    "pesisir-barat": "197711252002012121",
    "kendari": KENDARI_INSPECTOR,
}
WHOLE_SEASON = {"from": "2025-12-01", "to": "2026-02-28"}


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra)) as running:
        yield running


async def submit(stack: RunningStack, nip: str, body: dict[str, Any]) -> Any:
    async with await stack.as_user(nip) as client:
        return await client.post("/api/requests", json=body)


async def decide_all(stack: RunningStack, request: dict[str, Any], *, last: str = "approve") -> dict[str, Any]:
    """Every remaining tier approves; the last one says `last`."""
    steps = request["route_steps"]
    task_id = request["current_task_id"]
    start = next(i for i, s in enumerate(steps) if s["tier"] == request["current_tier"])
    for index, step in enumerate(steps[start:], start=start):
        decision = last if index == len(steps) - 1 else "approve"
        async with await stack.as_user(step["approver_nip"]) as approver:
            r = await approver.post(
                f"/api/tasks/{task_id}/decision", json={"decision": decision, "comment": "Catatan pemeriksa"}
            )
            assert r.status_code == 200, r.text
            request = r.json()
            task_id = request["current_task_id"]
        if decision != "approve":
            break
    return request


async def simulate_http(stack: RunningStack, nip: str, pack: str, period: dict[str, str]) -> Any:
    async with await stack.as_user(nip) as client:
        return await client.post("/api/policy/simulate", json={"pack": pack, **period})


def wfh(day: str) -> dict[str, Any]:
    return {"kind": "WFH", "dates": [day], "reason": "Menyusun laporan akhir tahun"}


async def store_head(stack: RunningStack) -> int:
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))
    finally:
        await conn.close()


# -- Bitung: a quarter instead of half of a direct-service unit ----------------------------------------------


async def test_bitung_quarter_cap_shows_exactly_the_approvals_above_it(stack: RunningStack, tmp_path: Path) -> None:
    a, b, c, d = DUKCAPIL_U1
    first = (await submit(stack, a, wfh("2025-12-29"))).json()
    assert (await decide_all(stack, first))["status"] == "APPROVED"
    second = (await submit(stack, b, wfh("2025-12-29"))).json()
    assert (await decide_all(stack, second))["status"] == "APPROVED"
    third = await submit(stack, c, wfh("2025-12-29"))
    assert third.status_code == 422 and third.json()["code"] == "unit_cap_reached"  # refused: nothing recorded
    # on the 30th both are submitted before either is approved, so only the final approval can refuse
    fourth = (await submit(stack, d, wfh("2025-12-30"))).json()
    fifth = (await submit(stack, c, wfh("2025-12-30"))).json()
    assert (await decide_all(stack, fourth))["status"] == "APPROVED"
    assert (await decide_all(stack, fifth))["status"] == "APPROVED"
    sixth = (await submit(stack, a, wfh("2025-12-31"))).json()
    assert (await decide_all(stack, sixth))["status"] == "APPROVED"

    head = await store_head(stack)
    period = {"from": "2025-12-29", "to": "2025-12-31"}
    r = await simulate_http(stack, BITUNG_INSPECTOR, bitung_quarter_cap(), period)
    assert r.status_code == 200, r.text
    report = r.json()
    assert await store_head(stack) == head, "a simulation writes no events"

    mine = {i["request_id"]: i for i in report["items"] if i["unit_code"] == "DUKCAPIL-U1"}
    assert set(mine) == {x["id"] for x in (first, second, fourth, fifth, sixth)}
    changed = {rid for rid, i in mine.items() if i["changed"]}
    assert changed == {second["id"], fifth["id"]}
    at_submit, at_approval = mine[second["id"]]["draft"], mine[fifth["id"]]["draft"]
    assert at_submit["outcome"] == "refused" and at_submit["code"] == "unit_cap_reached"
    assert at_submit["stage"] == "submit" and at_submit["route"] == []
    assert at_approval["outcome"] == "refused" and at_approval["code"] == "unit_cap_reached"
    assert at_approval["stage"] == "approval" and at_approval["route"] == ["UNIT_HEAD", "OPD_HEAD"]
    for item in (mine[second["id"]], mine[fifth["id"]]):
        assert item["then"]["outcome"] == "allowed" and item["then"]["status"] == "APPROVED"
        assert item["then"]["route"] == ["UNIT_HEAD", "OPD_HEAD"]
        assert {c["rule_id"] for c in item["draft"]["refusal"]["citations"]} == {"bitung.pelayanan-langsung-50-50"}
        assert item["draft"]["refusal"]["citations"][0]["clause"].endswith("75:25.")
    for rid in set(mine) - changed:
        assert mine[rid]["draft"]["status"] == "APPROVED" and mine[rid]["draft"]["quota"][0]["cap"] == 1
        assert mine[rid]["then"]["quota"][0]["cap"] == 2
    assert all(i["draft"]["code"] == "unit_cap_reached" for i in report["items"] if i["changed"])
    assert report["fidelity"]["mismatched"] == []
    days = {row["date"]: row for row in report["by_day"]}
    assert days["2025-12-29"]["approved_away_then"] - days["2025-12-29"]["approved_away_draft"] >= 1
    assert any("tidak tersimpan" in note for note in report["notes"])
    dukcapil = next(row for row in report["by_opd"] if row["opd_code"] == "DUKCAPIL")
    assert dukcapil["newly_refused"] >= 2

    # the same store and the same draft give the same bytes, over HTTP and from the CLI
    again = await simulate_http(stack, BITUNG_INSPECTOR, bitung_quarter_cap(), period)
    assert again.content == r.content
    draft_file, out = tmp_path / "bitung-draft.yaml", tmp_path / "report.json"
    draft_file.write_text(bitung_quarter_cap(), encoding="utf-8")
    console = Console(record=True, width=220)
    cli_report = await _in_thread(
        simulate_command,
        Settings(database_url=stack.settings.database_url),
        console,
        draft_path=draft_file,
        start=period["from"],
        end=period["to"],
        json_path=out,
        region=None,
        up_to_position=None,
        limit=20,
    )
    assert out.read_bytes().rstrip(b"\n") == r.content == report_bytes(cli_report)
    shown = console.export_text()
    assert "Permohonan yang berubah" in shown and "unit_cap_reached" in shown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "whatif-simulation.txt").write_text(shown, encoding="utf-8")


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # the CLI runs its own event loop, as it does from a terminal
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)


# -- Kendari: annual leave without the Wali Kota ------------------------------------------------------------


async def test_kendari_draft_without_the_ppk_tier_shows_the_changed_routes(stack: RunningStack) -> None:
    leave = {
        "kind": "CUTI_TAHUNAN",
        "dates": ["2025-12-29", "2025-12-30"],
        "reason": "Acara keluarga",
        "leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"},
    }
    decided = (await submit(stack, KENDARI_LEAVE[0], leave)).json()
    assert decided["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
    assert (await decide_all(stack, decided))["status"] == "APPROVED"
    waiting = (await submit(stack, KENDARI_LEAVE[1], {**leave, "dates": ["2025-12-31"]})).json()
    assert waiting["status"] == "PENDING"
    flexible = await submit(stack, KENDARI_WFH, wfh("2025-12-29"))
    assert flexible.status_code == 201, flexible.text

    r = await simulate_http(stack, KENDARI_INSPECTOR, kendari_without_ppk_for_annual_leave(), WHOLE_SEASON)
    assert r.status_code == 200, r.text
    report = r.json()
    items = {i["request_id"]: i for i in report["items"]}
    for request in (decided, waiting):
        item = items[request["id"]]
        assert item["changed"] and item["changes"][0] == "route"
        assert item["then"]["route"] == ["UNIT_HEAD", "OPD_HEAD", "PPK"]
        assert item["draft"]["route"] == ["UNIT_HEAD", "OPD_HEAD"]
        assert item["draft"]["outcome"] == item["then"]["outcome"] == "allowed"
        assert [s["action"] for s in item["draft"]["steps"]] == ["recommend", "approve"]
        assert "kendari.izin-wali-kota-cuti-tahunan" in {c["rule_id"] for c in item["then"]["citations"]}
        assert "kendari.izin-wali-kota-cuti-tahunan" not in {c["rule_id"] for c in item["draft"]["citations"]}
        assert item["draft"]["leave_debit"] == item["then"]["leave_debit"]
    assert not items[flexible.json()["id"]]["changed"]
    assert all(i["kind"] == "CUTI_TAHUNAN" for i in report["items"] if i["changed"])
    assert report["summary"]["route_changed"] == report["changed"] >= 2
    assert report["summary"]["newly_refused"] == 0

    async with await stack.as_user(KENDARI_INSPECTOR) as client:
        diff = (await client.post("/api/policy/diff", json={"pack": kendari_without_ppk_for_annual_leave()})).json()
    rules = {row["rule_id"]: row for row in diff["rules"]}
    assert rules["kendari.izin-wali-kota-cuti-tahunan"]["change"] == "removed"
    assert rules["kendari.rute-cuti-tahunan"]["change"] == "changed"
    assert diff["a"]["version"] == "2025.12.1.1" and diff["b"]["version"] == "2026.1.1"


async def test_the_admin_page_shows_the_simulation_and_the_rule_changes(stack: RunningStack) -> None:
    async with await stack.as_user(BITUNG_ADMIN) as admin:
        form = await admin.get("/kebijakan/simulasi")
        assert form.status_code == 200 and '<form method="post"' in form.text
        shown = await admin.post(
            "/kebijakan/simulasi",
            data={"start": "2025-12-29", "end": "2025-12-31", "pack": bitung_quarter_cap()},
            files={"upload": ("", b"", "application/octet-stream")},
        )
        assert shown.status_code == 200, shown.text
        page = shown.text
        assert "Permohonan yang berubah" in page and "unit_cap_reached" in page
        assert "<svg" in page and "bitung.pelayanan-langsung-50-50" in page and "75:25" in page
        # the CSP allows no inline script or style
        assert "<script" not in page and "style=" not in page and "<style" not in page
        css = await admin.get("/kebijakan/static/whatif.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

        broken = bitung_quarter_cap().replace("max_away_ratio: 0.25", "max_away_ratio: 3")
        refused = await admin.post(
            "/kebijakan/simulasi",
            data={"start": "2025-12-29", "end": "2025-12-31", "pack": broken},
            files={"upload": ("", b"", "application/octet-stream")},
        )
        line = next(i for i, text in enumerate(broken.splitlines(), start=1) if "max_away_ratio" in text)
        assert refused.status_code == 200 and f"Periksa baris {line}" in refused.text
    async with await stack.as_user(DUKCAPIL_U1[0]) as staff:
        assert (await staff.get("/kebijakan/simulasi")).status_code == 403


# -- refusals and access ------------------------------------------------------------------------------------


async def test_a_malformed_draft_is_refused_with_its_line_and_reason(stack: RunningStack, tmp_path: Path) -> None:
    text = bundled_pack_texts()["bitung.yaml"]
    lines = text.splitlines()
    bad_ratio = text.replace("max_away_ratio: 0.5", "max_away_ratio: 2")
    ratio_line = next(i for i, line in enumerate(lines, start=1) if "max_away_ratio" in line)
    r = await simulate_http(stack, BITUNG_ADMIN, bad_ratio, WHOLE_SEASON)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "pack_invalid" and body["line"] == ratio_line
    assert "max_away_ratio" in body["reason"]

    timezone_line = next(i for i, line in enumerate(lines, start=1) if line.startswith("timezone:"))
    twice = "\n".join([*lines[:timezone_line], "timezone: Asia/Jakarta", *lines[timezone_line:]]) + "\n"
    r = await simulate_http(stack, BITUNG_ADMIN, twice, WHOLE_SEASON)
    assert r.status_code == 422 and r.json()["line"] == timezone_line + 1
    assert "ganda" in r.json()["reason"]

    broken = tmp_path / "broken.yaml"
    broken.write_text(bad_ratio, encoding="utf-8")
    with pytest.raises(CommandFailed) as failed:
        simulate_command(
            Settings(database_url=stack.settings.database_url),
            Console(record=True),
            draft_path=broken,
            start="2025-12-01",
            end="2025-12-31",
            json_path=None,
            region=None,
            up_to_position=None,
            limit=10,
        )
    assert f"baris {ratio_line}" in str(failed.value.message)


async def test_only_admins_and_inspectors_of_the_drafts_region_may_simulate(stack: RunningStack) -> None:
    r = await simulate_http(stack, DUKCAPIL_U1[0], bitung_quarter_cap(), WHOLE_SEASON)
    assert r.status_code == 403
    r = await simulate_http(stack, KENDARI_INSPECTOR, bitung_quarter_cap(), WHOLE_SEASON)
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    r = await simulate_http(stack, BITUNG_ADMIN, bitung_quarter_cap(), {"from": "2025-12-31", "to": "2025-12-01"})
    assert r.status_code == 422 and r.json()["code"] == "period_invalid"
    async with stack.client() as anonymous:
        r = await anonymous.post("/api/policy/simulate", json={"pack": bitung_quarter_cap(), **WHOLE_SEASON})
    assert r.status_code == 401


# -- the property: the pack in force reproduces every recorded decision -------------------------------------


def _staff() -> list[dict[str, str]]:
    reserved = {*DUKCAPIL_U1, *KENDARI_LEAVE, KENDARI_WFH, KENDARI_BEFORE, KENDARI_AFTER}
    with SAMPLE_DIRECTORY.open(encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if not row["roles"] and row["nip"] not in reserved]


def _random_body(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("WFH", "WFH", "WFA", "WFA", "CUTI_TAHUNAN", "CUTI_SAKIT"))
    first = date(2025, 12, 22) + timedelta(days=rng.randrange(19))
    dates = [(first + timedelta(days=i)).isoformat() for i in range(rng.choice((1, 1, 2, 3)))]
    body: dict[str, Any] = {"kind": kind, "dates": dates, "reason": "Keperluan dinas dan keluarga"}
    if kind == "WFA":
        body["location"] = {"text": "Rumah keluarga", "country": rng.choice(("ID", "ID", "ID", "MY"))}
    if kind.startswith("CUTI"):
        body["leave"] = {"address": "Rumah keluarga", "phone": "081234567890"}
    if kind == "CUTI_SAKIT" and len(dates) > 1:  # the doctor's certificate
        body["attachments"] = [{"name": "surat-dokter.pdf", "content_base64": "JVBERi0xLjQKJSVFT0YK"}]
    return body


async def _new_kendari_version_mid_season(stack: RunningStack) -> None:
    """A returned request straddles a new Kendari version: its resubmission keeps the version it began with.

    Around it, requests that go every other way (approved then cancelled, annual leave the PPK rejects), so
    whatever the random workload draws, each path is in the log.
    """
    straddling = (await submit(stack, KENDARI_BEFORE, wfh("2025-12-29"))).json()
    async with await stack.as_user(straddling["route_steps"][0]["approver_nip"]) as head:
        r = await head.post(
            f"/api/tasks/{straddling['current_task_id']}/decision",
            json={"decision": "return", "comment": "Ganti tanggal"},
        )
        assert r.status_code == 200, r.text
    text = bundled_pack_texts()["kendari.yaml"].replace("version: 2025.12.1.1", "version: 2025.12.7")
    async with await stack.as_user(KENDARI_ADMIN) as admin:
        r = await admin.post(
            "/api/policy/packs", content=text + "\n# revisi teknis\n", headers={"content-type": "application/yaml"}
        )
        assert r.status_code == 201, r.text
    async with await stack.as_user(KENDARI_BEFORE) as asn:
        r = await asn.post(f"/api/requests/{straddling['id']}/resubmit", json=wfh("2025-12-30"))
        assert r.status_code == 200 and r.json()["policy"]["version"] == "2025.12.1.1", r.text
    await decide_all(stack, r.json())
    after = (await submit(stack, KENDARI_AFTER, wfh("2025-12-30"))).json()
    assert after["policy"]["version"] == "2025.12.7"
    await decide_all(stack, after)
    async with await stack.as_user(KENDARI_AFTER) as asn:
        assert (await asn.post(f"/api/requests/{after['id']}/cancel", json={})).status_code == 200
    leave = {
        "kind": "CUTI_TAHUNAN",
        "dates": ["2025-12-31"],
        "reason": "Acara keluarga",
        "leave": {"address": "Jl. Merdeka 1, Samarinda", "phone": "081234567890"},
    }
    refused_by_ppk = (await submit(stack, KENDARI_BEFORE, leave)).json()
    assert (await decide_all(stack, refused_by_ppk, last="reject"))["status"] == "REJECTED"


async def _workload(stack: RunningStack, rng: random.Random, submissions: int) -> int:
    """Submissions across the five regions, decided every way a request can go; returns how many were recorded."""
    staff = _staff()
    recorded = 0
    for n in range(submissions):
        if n == submissions // 2:
            await _new_kendari_version_mid_season(stack)
        person = rng.choice(staff)
        body = _random_body(rng)
        r = await submit(stack, person["nip"], body)
        if r.status_code != 201:
            assert r.status_code == 422, r.text  # refused by the policy: nothing recorded
            continue
        recorded += 1
        request = r.json()
        fate = rng.choices(("approve", "reject", "return", "cancel", "wait"), weights=(5, 1, 2, 1, 1))[0]
        if fate == "approve":
            await decide_all(stack, request)
        elif fate == "reject":
            await decide_all(stack, request, last="reject")
        elif fate == "cancel":
            if rng.random() < 0.5:
                request = await decide_all(stack, request)
            async with await stack.as_user(person["nip"]) as asn:
                cancelled = await asn.post(f"/api/requests/{request['id']}/cancel", json={})
                # an approved request whose first day has begun can no longer be cancelled
                assert cancelled.status_code in (200, 409), cancelled.text
        elif fate == "return":
            first_step = request["route_steps"][0]
            async with await stack.as_user(first_step["approver_nip"]) as approver:
                returned = await approver.post(
                    f"/api/tasks/{request['current_task_id']}/decision",
                    json={"decision": "return", "comment": "Perbaiki tanggal"},
                )
                assert returned.status_code == 200, returned.text
            again = {**body, "dates": [(date.fromisoformat(d) + timedelta(days=1)).isoformat() for d in body["dates"]]}
            async with await stack.as_user(person["nip"]) as asn:
                resubmitted = await asn.post(f"/api/requests/{request['id']}/resubmit", json=again)
            if resubmitted.status_code == 200 and rng.random() < 0.7:
                await decide_all(stack, resubmitted.json())
    return recorded


async def test_the_pack_in_force_reproduces_every_recorded_decision(stack: RunningStack) -> None:
    seed = int(os.environ.get("LENTUR_WHATIF_SEED", "2025"))
    assert await _workload(stack, random.Random(seed), submissions=34) > 10

    # 1. judged again exactly as the live service judged it: every RouteDetermined, field by field
    pool = await create_pool(stack.settings.database_url, min_size=1, max_size=2)
    try:
        judged: dict[tuple[str, int], Judged] = {}
        packs = {p["pack_id"]: p for p in await pool.fetch("SELECT pack_id, text FROM rm_policy_packs")}
        baseline = load_pack(packs["national-baseline"]["text"])
        report = await simulate(
            pool,
            SimulationSpec(draft=baseline, period=Period(date(2025, 12, 1), date(2026, 2, 28)), regions=None),
            on_rejudged=lambda rid, round_, j: judged.__setitem__((rid, round_), j),
        )
        recorded = await pool.fetch("SELECT payload, policy FROM events WHERE type = 'RouteDetermined'")
        covered = await pool.fetchrow(
            "SELECT count(*) FILTER (WHERE type = 'RequestResubmitted') AS resubmitted, "
            "count(*) FILTER (WHERE type = 'RequestCancelled') AS cancelled, "
            "count(*) FILTER (WHERE type = 'RequestRejected') AS rejected, "
            "count(*) FILTER (WHERE type = 'RequestApproved') AS approved, "
            "count(*) FILTER (WHERE type = 'RouteDetermined' AND payload->'leave_debit' <> 'null') AS leave, "
            "count(DISTINCT policy->>'version') FILTER (WHERE type = 'RouteDetermined' "
            "AND policy->>'id' = 'kendari') AS kendari_versions FROM events"
        )
    finally:
        await pool.close()
    # the workload went every way a request can go
    assert all(covered[k] > 0 for k in ("resubmitted", "cancelled", "rejected", "approved", "leave")), dict(covered)
    assert covered["kendari_versions"] == 2, dict(covered)
    assert len(recorded) == len(judged) == report["fidelity"]["checked"]
    for row in recorded:
        payload = row["payload"]
        evaluation = judged[(payload["request_id"], payload["round"])].evaluation
        again = RouteDetermined(
            request_id=payload["request_id"],
            round=payload["round"],
            timezone=evaluation.timezone,
            route=list(evaluation.route),
            caps=list(evaluation.caps),
            leave_debit=evaluation.leave_debit,
            obligations=list(evaluation.obligations),
            timers=evaluation.timers,
            resubmit_from=evaluation.resubmit_from,
            working_days=evaluation.working_days,
            citations=list(evaluation.citations),
        )
        assert json.loads(json.dumps(again.model_dump(mode="json"))) == payload
        assert evaluation.policy.model_dump() == row["policy"]
    assert report["fidelity"]["mismatched"] == [] and report["changed"] == 0

    # 2. over HTTP, each region's inspector simulating the pack in force sees nothing change
    for region in REGIONS:
        async with await stack.as_user(INSPECTORS[region]) as inspector:
            in_force = (await inspector.get(f"/api/policy/packs/{region}")).json()
        r = await simulate_http(stack, INSPECTORS[region], in_force["text"], WHOLE_SEASON)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["changed"] == 0 and result["fidelity"]["mismatched"] == [], region
        for item in result["items"]:
            then, under = item["then"], item["draft"]
            assert (under["outcome"], under["route"], under["steps"]) == (then["outcome"], then["route"], then["steps"])
            # a request judged by an earlier version cites the same clauses of it
            assert [(c["rule_id"], c["clause"]) for c in under["citations"]] == [
                (c["rule_id"], c["clause"]) for c in then["citations"]
            ]
