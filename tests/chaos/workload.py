"""The steady workload: WFH requests submitted and approved over HTTP, as a careful client would do it.

A client that loses its answer (connection refused or reset, a 5xx, a 504 while the projection lags)
sends the same command again with the same `Idempotency-Key`, until the answer comes or the deadline
passes. A 409 on a decision means an earlier attempt already went through: the client reads the request
again and carries on from what it shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.cluster import ChaosCluster, Staff

REASON = "Alasan pribadi uji ketahanan 7Q"  # must never appear in any component's log
DAYS = ("2025-12-29", "2025-12-30", "2025-12-31")
RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Progress:
    submitted: int = 0
    decided: int = 0
    finished: int = 0
    in_flight_decisions: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Workload:
    cluster: ChaosCluster
    tokens: dict[str, str] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    timeout: float = 180.0

    async def token(self, nip: str) -> str:
        if nip not in self.tokens:
            async with httpx.AsyncClient(base_url=self.cluster.base_url, timeout=30) as http:
                r = await self._retry(lambda: http.post("/api/dev/token", json={"nip": nip}), ok={200})
                self.tokens[nip] = r.json()["access_token"]
        return self.tokens[nip]

    async def _retry(
        self, call: Callable[[], Awaitable[httpx.Response]], *, ok: set[int], deadline: float | None = None
    ) -> httpx.Response:
        deadline = deadline or time.monotonic() + self.timeout
        while True:
            try:
                response = await call()
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRYABLE:
                    raise AssertionError(f"unexpected {response.status_code}: {response.text[:300]}")
            except (httpx.TransportError, httpx.TimeoutException):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no answer before the deadline")
            self.progress.retries += 1
            await asyncio.sleep(0.5)

    async def as_user(self, nip: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.cluster.base_url,
            timeout=httpx.Timeout(90, connect=5),
            headers={"Authorization": f"Bearer {await self.token(nip)}"},
        )

    async def run_one(self, index: int, person: Staff) -> dict[str, Any]:
        """Submit, then approve tier by tier; returns the request as its requester finally sees it."""
        deadline = time.monotonic() + self.timeout
        body = {"kind": "WFH", "dates": [DAYS[index % len(DAYS)]], "reason": REASON}
        async with await self.as_user(person.nip) as asn:
            r = await self._retry(
                lambda: asn.post("/api/requests", json=body, headers={"Idempotency-Key": f"chaos-{index}"}),
                ok={201},
                deadline=deadline,
            )
            request: dict[str, Any] = r.json()
            self.progress.submitted += 1
            while request["status"] == "PENDING":
                step = request["route_steps"][len(request["decisions"])]
                task = request["current_task_id"]
                async with await self.as_user(step["approver_nip"]) as head:
                    self.progress.in_flight_decisions += 1
                    try:
                        r = await self._retry(
                            lambda h=head, t=task: h.post(
                                f"/api/tasks/{t}/decision",
                                json={"decision": "approve", "comment": "Setuju"},
                                headers={"Idempotency-Key": f"chaos-{t}"},
                            ),
                            ok={200, 409},
                            deadline=deadline,
                        )
                    finally:
                        self.progress.in_flight_decisions -= 1
                if r.status_code == 200:
                    request = r.json()
                    self.progress.decided += 1
                    continue
                # Already decided by an earlier attempt: read until the view shows it.
                path = f"/api/requests/{request['id']}"
                while True:
                    r = await self._retry(lambda p=path: asn.get(p), ok={200}, deadline=deadline)
                    if r.json()["current_task_id"] != task:
                        request = r.json()
                        self.progress.decided += 1
                        break
                    await asyncio.sleep(0.2)
            self.progress.finished += 1
            return request

    async def run(self, people: list[tuple[int, Staff]], *, lanes: int = 8) -> list[dict[str, Any]]:
        queue: asyncio.Queue[tuple[int, Staff]] = asyncio.Queue()
        for item in people:
            queue.put_nowait(item)
        results: dict[int, dict[str, Any]] = {}

        async def lane() -> None:
            while not queue.empty():
                index, person = queue.get_nowait()
                try:
                    results[index] = await self.run_one(index, person)
                except Exception as exc:  # recorded; the test fails on any of them
                    self.progress.errors.append(f"request {index}: {exc!r}")

        await asyncio.gather(*(lane() for _ in range(lanes)))
        return [results[i] for i, _ in people if i in results]
