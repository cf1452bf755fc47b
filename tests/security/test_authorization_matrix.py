"""Who may do what: every endpoint × every role × the resource's own region or another region.

The resources live in Kendari (DISHUB-U2: a pending WFH request and an approved one with duties); the
"own" actors are Kendari officials of that unit and OPD, the "other" actors hold the same roles in Bitung.
Bitung has a pending request of its own, so isolation is checked both ways: a successful answer given to
someone of one region never mentions the other region's requests or requesters.

Each cell is one test. A row whose expected answer is a success and that changes state (deciding,
cancelling, revoking) works on a fresh resource of the same shape, so rows never depend on one another.

To extend: add an `Endpoint` to `ENDPOINTS` with its call and its expected (own, other) status per role.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.infra import InfraAddresses
from services.kernel.deps import SESSION_COOKIE
from tests.conftest import ARTIFACTS, create_database
from tests.stack import SAMPLE_DIRECTORY, RunningStack, running_stack

pytestmark = pytest.mark.e2e

ROLES = ("asn", "unit_head", "opd_head", "ppk", "admin", "inspector", "acting")
ACTORS: dict[tuple[str, str], str] = {
    # Kendari — DISHUB-U2 and its chain; Dewi Sari is Plh for the unit's head.
    ("asn", "own"): "198912022013092166",  # Joko Wulan, requester of the pending request
    ("unit_head", "own"): "198110052005061165",  # Putri Hendra, DISHUB-U2
    ("opd_head", "own"): "199503222018022159",  # Yusuf Indah, DISHUB
    ("ppk", "own"): "198609222008011156",  # Citra Kurnia, Wali Kota
    ("admin", "own"): "199702202019041158",
    ("inspector", "own"): "199412172016012157",
    ("acting", "own"): "197001011996062169",  # Dewi Sari, Plh for Putri Hendra
    # Bitung — the same roles; BKPSDM-U1 has the Bitung request.
    ("asn", "other"): "197210051996052078",  # Yusuf Wulan, requester of the Bitung request
    ("unit_head", "other"): "199608182018111074",  # Teguh Hendra, BKPSDM-U1
    ("opd_head", "other"): "197201021995112073",  # Dewi Made, BKPSDM
    ("ppk", "other"): "199512212017091037",
    ("admin", "other"): "199410112018092039",
    ("inspector", "other"): "199604012020042038",
    ("acting", "other"): "197205271994032069",  # Wulan Budi, Plh for DUKCAPIL-U2's head
}
KENDARI_POOL = ("198912022013092166", "199301242015041167", "198309122005032168")  # DISHUB-U2 staff
APPROVED_REQUESTER = "199301242015041167"  # Joko Yusuf
BYSTANDER = "197604041998011188"  # Joko Rahmat, DISKOMINFO-U2: a delegate and a renamed row, never an actor
DUTY_DAY = "2025-12-30"
MORNING_OF_DUTY_DAY = datetime.fromisoformat("2025-12-30T07:00:00+08:00")


@dataclass
class World:
    stack: RunningStack
    pending: dict[str, Any]
    approved: dict[str, Any]
    bitung: dict[str, Any]
    delegation_id: str
    renames: itertools.count = field(default_factory=lambda: itertools.count(1))
    slots: list[tuple[str, str]] = field(default_factory=list)

    def markers(self, scope: str) -> list[str]:
        """What an answer to an actor of `scope` must never contain: the other region's requests and people."""
        if scope == "own":
            return [self.bitung["id"], self.bitung["requester"]["nip"], self.bitung["requester"]["name"]]
        return [
            self.pending["id"],
            self.approved["id"],
            self.pending["requester"]["nip"],
            APPROVED_REQUESTER,
            self.approved["requester"]["name"],
        ]

    async def fresh_request(self, requester: str | None = None) -> dict[str, Any]:
        """A new pending Kendari request like `pending`, for rows that change state."""
        # Without a named requester, keep the ASN actor's own slots for the rows that need them.
        wanted = [s for s in self.slots if s[0] == requester] if requester else self.slots
        slot = sorted(wanted, key=lambda s: s[0] == ACTORS[("asn", "own")])[0]
        self.slots.remove(slot)
        return await submit(self.stack, slot[0], slot[1])

    async def fresh_delegation(self) -> str:
        async with await self.stack.as_user(ACTORS[("unit_head", "own")]) as holder:
            r = await holder.post("/api/delegations", json=delegation_body())
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def delegation_body(holder: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "delegate_nip": BYSTANDER,
        "tiers": ["UNIT_HEAD"],
        "from": "2026-02-02T00:00:00+08:00",
        "to": "2026-02-06T00:00:00+08:00",
    }
    if holder:
        body["holder_nip"] = holder
    return body


async def submit(stack: RunningStack, nip: str, day: str) -> dict[str, Any]:
    async with await stack.as_user(nip) as asn:
        r = await asn.post("/api/requests", json={"kind": "WFH", "dates": [day], "reason": "Menyelesaikan laporan"})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def approve_all(stack: RunningStack, request: dict[str, Any]) -> dict[str, Any]:
    while request["status"] == "PENDING":
        approver = request["route_steps"][len(request["decisions"])]["approver_nip"]
        async with await stack.as_user(approver) as head:
            r = await head.post(f"/api/tasks/{request['current_task_id']}/decision", json={"decision": "approve"})
        assert r.status_code == 200, r.text
        request = r.json()
    return request


@pytest.fixture(scope="module")
async def world(infra: InfraAddresses) -> AsyncIterator[World]:
    # The morning of the duty day: its duties are scheduled as soon as the request is approved.
    async with running_stack(
        infra, await create_database(infra, prefix="authz"), simulated_now=MORNING_OF_DUTY_DAY, write_burst=10_000
    ) as stack:
        pending = await submit(stack, ACTORS[("asn", "own")], "2025-12-31")
        approved = await approve_all(stack, await submit(stack, APPROVED_REQUESTER, DUTY_DAY))
        assert approved["status"] == "APPROVED"
        bitung = await submit(stack, ACTORS[("asn", "other")], "2025-12-31")
        async with await stack.as_user(ACTORS[("unit_head", "own")]) as holder:
            r = await holder.post("/api/delegations", json=delegation_body())
            assert r.status_code == 201, r.text
        w = World(stack, pending, approved, bitung, str(r.json()["id"]))
        used = {(ACTORS[("asn", "own")], "2025-12-31"), (APPROVED_REQUESTER, DUTY_DAY)}
        # Later Mondays fall under the national baseline (at most two days a week), one per week.
        days = (DUTY_DAY, "2025-12-31", "2026-01-05", "2026-01-12", "2026-01-19")
        w.slots = [(nip, day) for nip in KENDARI_POOL for day in days if (nip, day) not in used]
        yield w


Call = Callable[[httpx.AsyncClient, World, bool], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    call: Call
    expect: dict[str, tuple[int, int]]  # role → (own region, other region); "anonymous" → (status, status)
    sees: frozenset[str] = frozenset()  # own-region roles whose successful answer lists the Kendari resource
    status_of: Callable[[httpx.Response], int] = lambda r: r.status_code
    page: bool = False  # a portal page: the browser's session cookie instead of a bearer token


def everyone(status: int, *, anonymous: int = 401) -> dict[str, tuple[int, int]]:
    return {**dict.fromkeys(ROLES, (status, status)), "anonymous": (anonymous, anonymous)}


def only(
    allowed: dict[str, int], *, others: int = 403, other_region: dict[str, int] | None = None
) -> dict[str, tuple[int, int]]:
    """Roles in `allowed` get that status in their own region; everyone else `others`; another region 403."""
    other_region = other_region or {}
    table = {role: (allowed.get(role, others), other_region.get(role, 403)) for role in ROLES}
    table["anonymous"] = (401, 401)
    return table


def bulk_item_status(r: httpx.Response) -> int:
    return int(r.json()["results"][0]["status"]) if r.status_code == 200 else r.status_code


async def _decide(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    target = await w.fresh_request() if success else w.pending
    return await http.post(
        f"/api/tasks/{target['current_task_id']}/decision", json={"decision": "approve", "comment": "Setuju"}
    )


async def _decide_bulk(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    target = await w.fresh_request() if success else w.pending
    item = {"task_id": target["current_task_id"], "decision": "approve", "comment": "Setuju"}
    return await http.post("/api/tasks/decisions", json={"items": [item]})


async def _cancel(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    target = await w.fresh_request(ACTORS[("asn", "own")]) if success else w.pending
    return await http.post(f"/api/requests/{target['id']}/cancel", json={"reason": "Tidak jadi"})


async def _revoke(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    delegation = await w.fresh_delegation() if success else w.delegation_id
    return await http.delete(f"/api/delegations/{delegation}")


async def _directory(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    # Each call renames one Kendari row afresh, so the file is always a Kendari change.
    lines = SAMPLE_DIRECTORY.read_text().splitlines()
    n = next(w.renames)
    text = "\n".join(ln.replace("Joko Rahmat,PNS,kendari", f"Joko Rahmat {n},PNS,kendari") for ln in lines) + "\n"
    return await http.post("/api/admin/directory", content=text.encode(), headers={"content-type": "text/csv"})


async def _publish_pack(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
    text = (Path(__file__).resolve().parents[2] / "policy" / "packs" / "kendari.yaml").read_bytes()
    return await http.post("/api/policy/packs", content=text, headers={"content-type": "application/yaml"})


def get(path: Callable[[World], str]) -> Call:
    async def call(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
        return await http.get(path(w))

    return call


def post(path: Callable[[World], str], body: Any) -> Call:
    async def call(http: httpx.AsyncClient, w: World, success: bool) -> httpx.Response:
        return await http.post(path(w), json=body)

    return call


SAME_KIND = {"kind": "WFH", "dates": ["2025-12-31"], "reason": "Menyelesaikan laporan"}
REQUEST_READERS = dict.fromkeys(("asn", "unit_head", "opd_head", "admin", "inspector", "acting"), 200)
TASK_DECIDERS = {"unit_head": 200, "acting": 200}
DUTY_VIEWERS = dict.fromkeys(("unit_head", "opd_head", "ppk", "admin", "inspector", "acting"), 200)
AUDITORS = {"admin": 200, "inspector": 200}

RECORD_READERS = dict.fromkeys(("asn", "unit_head", "opd_head", "ppk", "admin", "inspector", "acting"), 200)

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET /api/leave/balance",
        get(lambda w: f"/api/leave/balance?nip={ACTORS[('asn', 'own')]}&year=2025"),
        only(RECORD_READERS),
    ),
    Endpoint("GET /api/requests/{id}", get(lambda w: f"/api/requests/{w.pending['id']}"), only(REQUEST_READERS)),
    Endpoint(
        "GET /api/requests?mine=false",
        get(lambda w: "/api/requests?mine=false"),
        everyone(200),
        sees=frozenset({"asn", "admin", "inspector"}),
    ),
    Endpoint("GET /api/tasks", get(lambda w: "/api/tasks"), everyone(200), sees=frozenset({"unit_head", "acting"})),
    Endpoint("POST /api/tasks/{task_id}/decision", _decide, only(TASK_DECIDERS)),
    Endpoint("POST /api/tasks/decisions", _decide_bulk, only(TASK_DECIDERS), status_of=bulk_item_status),
    Endpoint("POST /api/requests/{id}/cancel", _cancel, only({"asn": 200})),
    Endpoint(
        "POST /api/requests/{id}/resubmit",
        post(lambda w: f"/api/requests/{w.pending['id']}/resubmit", SAME_KIND),
        only({"asn": 409}),  # the requester passes the check; the request is not returned
    ),
    Endpoint(
        "POST /api/requests/{id}/check-ins",
        post(lambda w: f"/api/requests/{w.pending['id']}/check-ins", {"text": "Rumah"}),
        only({"asn": 409}),  # the requester passes the check; the request is not approved
    ),
    Endpoint(
        "POST /api/requests/{id}/reports",
        post(lambda w: f"/api/requests/{w.pending['id']}/reports", {"text": "Laporan harian"}),
        only({"asn": 409}),
    ),
    Endpoint("GET /api/audit/requests/{id}", get(lambda w: f"/api/audit/requests/{w.pending['id']}"), only(AUDITORS)),
    Endpoint("GET /api/audit/verify", get(lambda w: "/api/audit/verify"), only(AUDITORS, other_region=AUDITORS)),
    Endpoint("POST /api/admin/directory", _directory, only({"admin": 200})),
    Endpoint(
        "POST /api/delegations",
        post(lambda w: "/api/delegations", delegation_body(ACTORS[("unit_head", "own")])),
        only({"unit_head": 201, "admin": 201}),
    ),
    Endpoint("DELETE /api/delegations/{id}", _revoke, only({"unit_head": 204, "admin": 204})),
    Endpoint(
        "GET /api/compliance",
        get(lambda w: f"/api/compliance?date={DUTY_DAY}"),
        only(DUTY_VIEWERS, other_region=DUTY_VIEWERS),
        sees=frozenset(DUTY_VIEWERS),
    ),
    Endpoint(
        "GET /api/compliance/export.csv",
        get(lambda w: f"/api/compliance/export.csv?date={DUTY_DAY}"),
        only(DUTY_VIEWERS, other_region=DUTY_VIEWERS),
        sees=frozenset(DUTY_VIEWERS),
    ),
    Endpoint("GET /api/compliance/tasks", get(lambda w: "/api/compliance/tasks"), everyone(200)),
    Endpoint(
        "POST /api/compliance/tasks/{task_id}/acknowledge",
        post(lambda w: f"/api/compliance/tasks/{w.approved['id']}-tidak-ada/acknowledge", {}),
        everyone(404),
    ),
    Endpoint(
        "POST /api/piket",
        post(lambda w: "/api/piket", {"day": "2025-12-26", "nips": [APPROVED_REQUESTER], "unit_code": "DISHUB-U2"}),
        # their unit/OPD, or any unit of the admin's region; 26 Dec is no piket day in Kendari
        only({"unit_head": 422, "opd_head": 422, "admin": 422}),
    ),
    Endpoint(
        "POST /api/piket/{roster_id}/check-ins",
        post(lambda w: f"/api/piket/{w.approved['id']}/check-ins", {}),
        everyone(404),
    ),
    Endpoint("GET /api/policy/packs/{id}", get(lambda w: "/api/policy/packs/kendari"), everyone(200)),
    Endpoint("POST /api/policy/packs", _publish_pack, only({"admin": 201})),
    Endpoint("GET /healthz", get(lambda w: "/healthz"), everyone(200, anonymous=200)),
    Endpoint("GET /readyz", get(lambda w: "/readyz"), everyone(200, anonymous=200)),
    Endpoint("GET /metrics", get(lambda w: "/metrics"), everyone(200, anonymous=200)),
    # Portal pages: the same rules through the session cookie; a signed-out browser is sent to sign in.
    Endpoint(
        "GET /pengajuan/{id}",
        get(lambda w: f"/pengajuan/{w.pending['id']}"),
        {**only(REQUEST_READERS), "anonymous": (303, 303)},
        page=True,
    ),
    Endpoint(
        "GET /audit/pengajuan/{id}",
        get(lambda w: f"/audit/pengajuan/{w.pending['id']}"),
        {**only(AUDITORS), "anonymous": (303, 303)},
        page=True,
    ),
    Endpoint(
        "GET /audit",
        get(lambda w: "/audit"),
        {**only(AUDITORS, other_region=AUDITORS), "anonymous": (303, 303)},
        sees=frozenset(AUDITORS),
        page=True,
    ),
    Endpoint(
        "GET /kotak-masuk",
        get(lambda w: "/kotak-masuk"),
        everyone(200, anonymous=303),
        sees=frozenset({"unit_head", "acting"}),
        page=True,
    ),
    Endpoint(
        "GET /papan",
        get(lambda w: f"/papan?tanggal={DUTY_DAY}"),
        everyone(200, anonymous=303),
        sees=frozenset(ROLES),
        page=True,
    ),
]
# Rows to add when the other branches land (same shape; expected statuses as DESIGN.md says):
#   GET /api/audit/export          only(AUDITORS)            — other region: 403, or a bundle without Kendari
#   GET /api/audit/search          only(AUDITORS, other_region=AUDITORS), sees AUDITORS
#   GET /api/notifications         everyone(200), sees {"asn", "unit_head", "acting"}
#   GET /api/requests/{id}/documents, GET /api/documents/{id}   only(REQUEST_READERS) on an approved request
#   GET /verifikasi/{doc_id}       everyone(200, anonymous=200), answer without personal data beyond masked NIP
#   POST /api/policy/simulate      only(AUDITORS, other_region=AUDITORS) — simulates the caller's region only

CELLS = [
    (endpoint, role, scope)
    for endpoint in ENDPOINTS
    for role in (*ROLES, "anonymous")
    for scope in (("own", "other") if role != "anonymous" else ("-",))
]
RESULTS: list[dict[str, Any]] = []


def _client(w: World, role: str, scope: str, endpoint: Endpoint) -> Awaitable[httpx.AsyncClient]:
    async def build() -> httpx.AsyncClient:
        if role == "anonymous":
            return w.stack.client()
        nip = ACTORS[(role, scope)]
        if endpoint.page:
            client = w.stack.client()
            client.cookies.set(SESSION_COOKIE, await w.stack.token(nip))
            return client
        return await w.stack.as_user(nip)

    return build()


def _mentions(response: httpx.Response, marker: str) -> bool:
    return marker in response.text


@pytest.mark.parametrize(("endpoint", "role", "scope"), CELLS, ids=[f"{e.name} · {r} · {s}" for e, r, s in CELLS])
async def test_authorization_matrix(world: World, endpoint: Endpoint, role: str, scope: str) -> None:
    own, other = endpoint.expect[role]
    expected = other if scope == "other" else own
    async with await _client(world, role, scope, endpoint) as http:
        response = await endpoint.call(http, world, 200 <= expected < 300)
    status = endpoint.status_of(response)
    RESULTS.append({"endpoint": endpoint.name, "role": role, "scope": scope, "expected": expected, "status": status})
    assert status == expected, f"{endpoint.name} as {role} ({scope}): {status} {response.text[:300]}"
    if 200 <= status < 300 and scope != "-":
        # Regions are separate tenants: nothing of the other region, in lists, inboxes or single reads.
        leaked = [m for m in world.markers(scope) if _mentions(response, m)]
        assert not leaked, f"{endpoint.name} as {role} ({scope}) shows the other region: {leaked}"
        if scope == "own" and endpoint.sees:
            marker = APPROVED_REQUESTER if "compliance" in endpoint.name else world.pending["id"]
            if endpoint.name == "GET /papan":
                marker = world.approved["requester"]["name"]
            shown = _mentions(response, marker)
            assert shown == (role in endpoint.sees), f"{endpoint.name} as {role}: listed={shown}"


def test_no_unauthorized_success() -> None:
    assert RESULTS, "the matrix ran"
    unauthorized = [r for r in RESULTS if r["expected"] >= 400 and 200 <= r["status"] < 300]
    assert unauthorized == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "cells": len(RESULTS),
        "cells_defined": len(CELLS),
        "endpoints": len(ENDPOINTS),
        "refusals_expected": sum(1 for r in RESULTS if r["expected"] >= 400),
        "unauthorized_successes": len(unauthorized),
        "mismatches": [r for r in RESULTS if r["expected"] != r["status"]],
    }
    (ARTIFACTS / "authorization-matrix.json").write_text(json.dumps(summary, indent=2))


@pytest.fixture(scope="module")
async def before_piket(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    """A stack on 22 Dec (the default demo clock), before Bitung's 26–27 Dec piket days."""
    async with running_stack(infra, await create_database(infra, prefix="piket")) as stack:
        yield stack


async def test_a_unit_head_keeps_only_their_own_units_piket_roster(before_piket: RunningStack) -> None:
    """Within one region too: the head of BKPSDM-U1 cannot name who keeps Dukcapil's office on a piket day."""
    async with await before_piket.as_user(ACTORS[("unit_head", "other")]) as head:
        foreign = await head.post(
            "/api/piket", json={"day": "2025-12-26", "nips": ["197211241996071064"], "unit_code": "DUKCAPIL-U1"}
        )
        own = await head.post("/api/piket", json={"day": "2025-12-26", "nips": ["197801152000121075"]})
    assert foreign.status_code == 403 and foreign.json()["code"] == "unit_forbidden"
    assert own.status_code == 201, own.text
    async with await before_piket.as_user("197801152000121075") as member:
        early = await member.post(f"/api/piket/{own.json()['id']}/check-ins")
        assert early.status_code == 422 and early.json()["code"] == "not_a_duty_day"  # found, but it is 22 Dec
