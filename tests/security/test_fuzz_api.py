"""Schemathesis against the running app's own OpenAPI schema: every operation, signed in, valid and invalid
inputs. No answer may be a 5xx, and every answer must match what the schema documents (status, content
type, body)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from deploy.infra import InfraAddresses
from tests.conftest import ARTIFACTS, create_database
from tests.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

# An admin who is also the one the sample makes an inspector-capable reader, and a unit head with tasks.
IDENTITIES = {"admin": "199702202019041158", "unit_head": "197506201999081160"}
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 12}
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schemathesis.serializer("text/csv", "application/yaml")
def _as_text(ctx: Any, value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@pytest.fixture(scope="module")
async def stack(infra: InfraAddresses) -> AsyncIterator[RunningStack]:
    async with running_stack(infra, await create_database(infra, prefix="fuzz"), write_burst=1_000_000) as running:
        async with await running.as_user(IDENTITIES["unit_head"]):
            pass
        # Something to find: a pending request with an open task for the unit head.
        async with await running.as_user("199505042021012163") as asn:
            r = await asn.post("/api/requests", json={"kind": "WFH", "dates": ["2025-12-29"], "reason": "Laporan"})
            assert r.status_code == 201, r.text
        yield running


def explained_or_fine(operation: schemathesis.APIOperation, response: Any) -> None:
    """A degraded stack may answer 5xx, but only as the schema documents it or as problem+json with a `code`
    that says what is wrong; never the catch-all `internal_error`."""
    status = response.status_code
    if status < 500 or str(status) in operation.definition.raw.get("responses", {}):
        return
    kind = response.headers.get("content-type", "")
    assert kind.startswith("application/problem+json"), f"{status} {kind}: {response.text[:300]}"
    code = response.json().get("code")
    assert code and code != "internal_error", f"{status} {response.text[:300]}"


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    base_url: str,
    token: str,
    mode: GenerationMode,
    examples: int,
    degraded: bool,
) -> int:
    """Hypothesis drives one operation in one mode; raises what schemathesis found, returns the calls made.
    On a healthy stack every answer must conform to the schema; on a degraded one, see `explained_or_fine`."""
    checks = CONFORMANCE if mode is GenerationMode.POSITIVE else [not_a_server_error]
    calls = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        if degraded:
            explained_or_fine(operation, response)
        else:
            case.validate_response(response, checks=checks)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to make invalid (no parameters, no body)
    return calls


def fuzz(
    base_url: str,
    tokens: dict[str, str],
    examples: dict[GenerationMode, int] = EXAMPLES,
    *,
    degraded: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """Runs in a worker thread (the server lives on the test's event loop); returns calls and failures."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[dict[str, Any]] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for identity, token in tokens.items():
            for mode, count in examples.items():
                try:
                    calls += _fuzz_operation(operation, base_url, token, mode, count, degraded)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # schemathesis reports its findings as an exception group
                    failures.append(
                        {
                            "operation": operation.label,
                            "identity": identity,
                            "mode": mode.value,
                            "failure": str(exc)[:2000],
                        }
                    )
    return calls, failures


async def test_every_operation_survives_fuzzing_and_matches_its_schema(stack: RunningStack) -> None:
    tokens = {name: await stack.token(nip) for name, nip in IDENTITIES.items()}
    calls, found = await asyncio.to_thread(fuzz, stack.base_url, tokens)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "schemathesis.json").write_text(json.dumps({"calls": calls, "failures": found}, indent=2))
    assert calls > 0
    assert not found, json.dumps(found, indent=2)[:6000]
