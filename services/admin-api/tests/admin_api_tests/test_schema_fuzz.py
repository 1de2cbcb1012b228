"""A schema-driven run of the admin-api against its own /openapi.json (schemathesis;
bounded and derandomized, so CI sees the same requests every run).

Every operation gets requests built from the document (valid ones, and invalid ones that
the document says must be refused), sent to the real server over HTTP. Each answer must be
no 5xx, a status the document lists for that operation, of its documented content type and
schema; an invalid request must be refused (4xx); a method a path does not serve gets 405
with an `Allow` header that matches the path.

Schemathesis runs synchronously in a worker thread while the server runs on the test's
event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from beds24_sandbox.server import SandboxServer
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from .conftest import TOKEN, Admin, admin_settings, serve

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _run(url: str) -> dict[str, int]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    statuses: dict[str, int] = {}
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(result.ok(), mode, url, statuses)
    return statuses


def _exercise(operation: Any, mode: GenerationMode, url: str, statuses: dict[str, int]) -> None:
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    auth = {"Authorization": f"Bearer {TOKEN}"}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call_and_validate(base_url=url, headers=auth, checks=checks)
        key = f"{case.method} {case.path} {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1

    try:
        call()
    except Unsatisfiable:  # no invalid request exists for an operation without inputs
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.fixture
async def admin_on_sandbox(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer, db: Any
) -> AsyncIterator[Admin]:
    """Beds24 is the sandbox here, so that onboarding answers as it would in production."""
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


async def test_every_operation_answers_as_its_document_says(admin_on_sandbox: Admin) -> None:
    started = time.monotonic()
    statuses = await asyncio.to_thread(_run, admin_on_sandbox.url)
    took = time.monotonic() - started
    assert statuses  # requests were made, each validated by the checks above
    assert not [k for k in statuses if k.endswith(" 500")]
    print(f"schemathesis: {sum(statuses.values())} requests in {took:.1f}s: {statuses}")


async def test_unserved_methods_get_405_with_the_paths_allow(admin: Admin, db: Any) -> None:
    async with admin.client() as client:
        document = (await client.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            concrete = path.replace("{", "").replace("}", "")
            for name in ("property_id", "event_id", "secret_id"):
                concrete = concrete.replace(name, "00000000-0000-4000-8000-000000000000")
            served = {m.upper() for m in operations} | ({"HEAD"} if "get" in operations else set())
            for method in {"OPTIONS", "PATCH", "TRACE", "PUT", "DELETE", "POST"} - served:
                response = await client.request(method, concrete)
                assert response.status_code == 405, (method, path)
                assert set(response.headers["allow"].split(", ")) == served, (method, path)
                assert "error" in response.json()
    assert unsupported_method  # the same rule schemathesis applies, spelled out above


async def test_hostile_parameters_named_in_the_issue_are_refused(admin: Admin, db: Any) -> None:
    """offset past int64, a Unix time where a date-time is documented, a non-canonical id,
    times out of range once in UTC, digits that are not digits."""
    overflowing = json.dumps(["9999-12-31T23:59:59-01:00", str(uuid.uuid4())]).encode()
    cursor = base64.urlsafe_b64encode(overflowing).decode().rstrip("=")
    async with admin.client() as client:
        for path, params in [
            ("/admin/properties", {"offset": str(2**63)}),
            ("/admin/properties", {"offset": "9" * 40}),
            ("/admin/properties", {"limit": "1_0"}),
            ("/admin/properties", {"limit": " 10"}),
            ("/admin/events", {"until": "63491920"}),
            ("/admin/events", {"since": "2031-01-01"}),
            ("/admin/events", {"until": "9999-12-31T23:59:59-01:00"}),
            ("/admin/events", {"since": "0001-01-01T00:00:00+01:00"}),
            ("/admin/events", {"property_id": "{12345678-1234-5678-1234-567812345678}"}),
            ("/admin/events", {"property_id": "12345678123456781234567812345678"}),
            ("/admin/events", {"event_type": "a\x00b"}),
            ("/admin/events", {"cursor": cursor}),
            ("/admin/events/12345678123456781234567812345678", {}),
            ("/admin/properties/urn:uuid:12345678-1234-5678-1234-567812345678", {}),
            ("/admin/dlq/sweep", {"limit": "+5"}),
        ]:
            method = "POST" if path.endswith("sweep") else "GET"
            response = await client.request(method, path, params=params)
            assert response.status_code == 400, (path, params, response.text)
            assert response.json()["error"], (path, params)
