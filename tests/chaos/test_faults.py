"""Faults on the real stack: a steady workload of WFH requests through full approval while one component after
another is killed, restarted, or fed duplicate and reordered deliveries.

After each fault every request of its batch must end APPROVED as without faults, each with exactly the
events a fault-free request has (none lost, none doubled), the projections must equal a rebuild from the
store, and the audit chain must verify. The figures go to test-artifacts/chaos-figures.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import nats
import pytest

from eventstore.db import create_pool
from eventstore.projector import ProjectionRunner
from eventstore.relay import message_body, subject_for
from eventstore.store import PostgresEventStore
from services.approvals.projection import ReadModelProjection
from tests.chaos.cluster import ChaosCluster
from tests.chaos.invariants import (
    audit_verifies,
    await_shapes,
    check_store,
    converge,
    projections_match_rebuild,
    request_shape,
)
from tests.chaos.workload import REASON, Workload
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

BASELINE = 20
BATCH = 30
FIGURES: dict[str, Any] = {"faults": {}}
EXPECTED: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChaosCluster]:
    running = ChaosCluster(tmp_path_factory.mktemp("chaos"))
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
def workload(cluster: ChaosCluster) -> Workload:
    return Workload(cluster)


def _people(workload: Workload, batch: int) -> list[tuple[int, Any]]:
    start = 0 if batch < 0 else BASELINE + batch * BATCH
    size = BASELINE if batch < 0 else BATCH
    staff = workload.cluster.directory.staff
    return [(i, staff[i]) for i in range(start, start + size)]


async def _when(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the workload never reached the moment for the fault")
        await asyncio.sleep(0.05)


async def _run_with_fault(
    name: str,
    cluster: ChaosCluster,
    workload: Workload,
    batch: int,
    fault: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    """Drive a batch, inject the fault while it runs, then check every invariant and record the figures."""
    people = _people(workload, batch)
    retries_before = workload.progress.retries
    driving = asyncio.create_task(workload.run(people))
    injected_at = time.monotonic()
    details = await fault()
    healed_at = time.monotonic()
    requests = await driving
    await await_shapes(cluster, requests, EXPECTED)
    converge_seconds = await converge(cluster)
    converged_at = time.monotonic()
    assert not workload.progress.errors, workload.progress.errors[:5]
    assert len(requests) == len(people)
    assert all(r["status"] == "APPROVED" for r in requests), [r["status"] for r in requests]
    assert all([d["tier"] for d in r["decisions"]] == ["UNIT_HEAD", "OPD_HEAD"] for r in requests)
    report = await check_store(cluster, requests, EXPECTED)
    assert report.problems == [], report.problems[:5]
    differences = await projections_match_rebuild(cluster)
    assert differences == [], differences
    verified = await audit_verifies(cluster)
    assert verified["ok"] is True, verified
    FIGURES["faults"][name] = {  # time to converge: from the fault's end to all final, relayed, projected
        "requests": len(requests),
        "events_lost": report.lost,
        "duplicates": report.duplicates,
        "client_retries": workload.progress.retries - retries_before,
        "fault_seconds": round(healed_at - injected_at, 2),
        "time_to_converge_seconds": round(converged_at - healed_at, 2),
        "projection_catch_up_seconds": round(converge_seconds, 2),
        "events_in_store": report.events,
        "audit_events_checked": verified["events_checked"],
        **details,
    }


async def test_baseline_without_faults(cluster: ChaosCluster, workload: Workload) -> None:
    requests = await workload.run(_people(workload, -1))
    assert not workload.progress.errors, workload.progress.errors[:5]
    await converge(cluster)
    async with cluster.connection() as conn:
        for request in requests:
            shape = await request_shape(conn, str(request["id"]))
            region = request["requester"]["region"]
            assert EXPECTED.setdefault(region, shape) == shape, f"{region}: {shape} vs {EXPECTED[region]}"
    assert set(EXPECTED) == {"kendari", "kutai-timur"}
    assert all(r["status"] == "APPROVED" for r in requests)
    assert await projections_match_rebuild(cluster) == []
    FIGURES["baseline"] = {"requests": len(requests), "events_per_request": {k: len(v) for k, v in EXPECTED.items()}}


async def test_worker_killed_mid_activity(cluster: ChaosCluster, workload: Workload) -> None:
    async def fault() -> dict[str, Any]:
        start = workload.progress.submitted
        await _when(lambda: workload.progress.submitted >= start + BATCH // 3)
        in_flight = workload.progress.in_flight_decisions
        cluster.kill("worker")
        await asyncio.sleep(2)
        cluster.start_component("worker")
        return {"decisions_in_flight_at_kill": in_flight}

    await _run_with_fault("worker_kill_9", cluster, workload, 0, fault)


async def test_projectors_killed(cluster: ChaosCluster, workload: Workload) -> None:
    async def fault() -> dict[str, Any]:
        start = workload.progress.submitted
        await _when(lambda: workload.progress.submitted >= start + BATCH // 3)
        cluster.kill("projector-1")
        cluster.kill("projector-2")
        await asyncio.sleep(3)
        cluster.start_component("projector-1")
        cluster.start_component("projector-2")
        return {"replicas_killed": 2}

    await _run_with_fault("projector_kill_9", cluster, workload, 1, fault)


async def test_nats_restarted(cluster: ChaosCluster, workload: Workload) -> None:
    async def fault() -> dict[str, Any]:
        start = workload.progress.submitted
        await _when(lambda: workload.progress.submitted >= start + BATCH // 3)
        await cluster.restart_infrastructure("nats")
        return {}

    await _run_with_fault("nats_restart", cluster, workload, 2, fault)


async def test_postgres_restarted(cluster: ChaosCluster, workload: Workload) -> None:
    async def fault() -> dict[str, Any]:
        start = workload.progress.submitted
        await _when(lambda: workload.progress.submitted >= start + BATCH // 3)
        await cluster.restart_infrastructure("postgres")
        return {}

    await _run_with_fault("postgres_restart", cluster, workload, 3, fault)


async def test_both_projector_replicas_take_deliveries(cluster: ChaosCluster) -> None:
    """Since their restart two batches ago, both replicas applied events from the shared pull consumer."""
    await cluster.wait_ready()
    applied = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name in ("projector-1", "projector-2"):
            text = (await http.get(cluster.metrics_url(name))).text
            applied[name] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("lentur_events_projected_total{")
            )
    FIGURES["events_applied_per_projector_replica"] = applied
    assert all(count > 0 for count in applied.values()), applied


async def test_api_killed_during_decisions(cluster: ChaosCluster, workload: Workload) -> None:
    async def fault() -> dict[str, Any]:
        start = workload.progress.decided
        await _when(lambda: workload.progress.decided >= start + 5 and workload.progress.in_flight_decisions >= 2)
        in_flight = workload.progress.in_flight_decisions
        cluster.kill("api")
        await asyncio.sleep(1)
        cluster.start_component("api")
        await cluster.wait_ready()
        return {"decisions_in_flight_at_kill": in_flight}

    await _run_with_fault("api_kill_9_during_decisions", cluster, workload, 4, fault)


async def test_temporal_killed_during_decisions(cluster: ChaosCluster, workload: Workload) -> None:
    """The Temporal server dies mid-decision without a chance to flush anything, and comes back on its database
    (in write-ahead-log mode): every workflow, timer and decision it had acknowledged is still there, and the
    decisions in flight complete once it is back (the API's Temporal client retries the call under the same
    update id; an approver whose answer was lost retries under the same idempotency key)."""

    async def fault() -> dict[str, Any]:
        start = workload.progress.decided
        await _when(lambda: workload.progress.decided >= start + 5 and workload.progress.in_flight_decisions >= 2)
        in_flight = workload.progress.in_flight_decisions
        await cluster.restart_infrastructure("temporal", kill=True)
        database = cluster.infra.state_dir / "temporal" / "temporal.db"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            (journal_mode,) = db.execute("PRAGMA journal_mode").fetchone()
        assert journal_mode == "wal"
        return {"decisions_in_flight_at_kill": in_flight, "journal_mode": journal_mode}

    await _run_with_fault("temporal_kill_9_during_decisions", cluster, workload, 6, fault)


async def test_duplicate_and_reordered_deliveries(cluster: ChaosCluster, workload: Workload) -> None:
    shuffle = random.Random(2025)
    settings = cluster.settings

    async def fault() -> dict[str, Any]:
        start = workload.progress.submitted
        await _when(lambda: workload.progress.submitted >= start + BATCH // 3)
        pool = await create_pool(settings.database_url, min_size=1, max_size=4)
        client = await nats.connect(settings.require("nats_url"))
        try:
            store = PostgresEventStore(pool)
            head = await store.head_position()
            window = await store.read_all(after=max(0, head - 300), limit=300)
            # 1) Republish a range of the stream, shuffled, every message twice, under fresh message ids (so
            #    JetStream's duplicate window lets them through to the projector replicas).
            copies = window * 2
            shuffle.shuffle(copies)
            jetstream = client.jetstream()
            for event in copies:
                await jetstream.publish(
                    subject_for(settings.nats_subject_prefix, event),
                    message_body(event),
                    stream=settings.nats_stream,
                    headers={"Nats-Msg-Id": uuid.uuid4().hex},
                )
            # 2) With the projector replicas down, a runner in this process is the only one applying: it gets
            #    shuffled batches with repeats from around its checkpoint, so it must skip what it has, fill
            #    the holes from the store and never apply anything twice or out of order.
            cluster.kill("projector-1")
            cluster.kill("projector-2")
            runner = ProjectionRunner(pool, store, ReadModelProjection())
            delivered = batches = 0
            until = time.monotonic() + 4
            while time.monotonic() < until:
                checkpoint = await runner.checkpoint()
                recent = await store.read_all(after=max(0, checkpoint - 30), limit=90)
                batch = shuffle.choices(recent, k=min(40, len(recent))) if recent else []
                await runner.deliver(batch)
                delivered, batches = delivered + len(batch), batches + 1
                await asyncio.sleep(0.05)
            cluster.start_component("projector-1")
            cluster.start_component("projector-2")
            return {
                "messages_republished": len(copies),
                "batches_fed": batches,
                "events_fed": delivered,
                "duplicates_skipped_by_fed_runner": runner.duplicates_skipped,
                "gaps_filled_by_fed_runner": runner.gaps_filled,
            }
        finally:
            await client.close()
            await pool.close()

    await _run_with_fault("duplicate_and_reordered_deliveries", cluster, workload, 5, fault)


async def test_figures_and_what_the_processes_show(cluster: ChaosCluster, workload: Workload) -> None:
    faults = FIGURES["faults"]
    assert set(faults) == {
        "worker_kill_9",
        "projector_kill_9",
        "nats_restart",
        "postgres_restart",
        "api_kill_9_during_decisions",
        "temporal_kill_9_during_decisions",
        "duplicate_and_reordered_deliveries",
    }, "every fault ran"
    FIGURES["totals"] = {
        "requests": FIGURES["baseline"]["requests"] + sum(f["requests"] for f in faults.values()),
        "faults_injected": len(faults),
        "events_lost": sum(f["events_lost"] for f in faults.values()),
        "duplicates": sum(f["duplicates"] for f in faults.values()),
        "max_time_to_converge_seconds": max(f["time_to_converge_seconds"] for f in faults.values()),
    }
    assert FIGURES["totals"]["events_lost"] == 0 and FIGURES["totals"]["duplicates"] == 0
    await cluster.wait_ready()  # the last fault restarted both projectors: their metrics come once they are up
    async with httpx.AsyncClient(timeout=10) as http:
        worker = (await http.get(cluster.metrics_url("worker"))).text
        projectors = [(await http.get(cluster.metrics_url(n))).text for n in ("projector-1", "projector-2")]
    assert 'lentur_activity_seconds_count{activity="append_events",outcome="completed"}' in worker
    assert all("lentur_outbox_backlog_events" in text for text in projectors)
    # No personal data beyond the NIP in any component's log.
    assert REASON not in cluster.logs()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "chaos-figures.json").write_text(json.dumps(FIGURES, indent=2))
    print(json.dumps(FIGURES["totals"], indent=2))
