"""schemathesis against the admin-api's own /openapi.json, with EVERY check: the run
`schemathesis run --checks all` makes with this service's schemathesis.toml, in process,
against the real server over HTTP (the Beds24 sandbox behind it), seeded and bounded so CI
sees the same requests every run.

All phases run (examples, coverage, fuzzing, stateful). Each answer must be no 5xx, a status
the document lists for that operation, of its documented content type, headers and schema,
within the response-time limit; a request the document calls valid must not be refused for
its data (400; 422 is a documented rule about the data, see schemathesis.toml), an invalid one
must be refused; a method a path does not serve gets 405 with an `Allow` header that matches
the path; no route answers without the token, or with a missing required header; nothing is
found after it was deleted or missing after it was created.

Schemathesis runs synchronously in a worker thread while the server runs on the test's
event loop. The tests after it pin, without a fuzzer, each mismatch the run once found.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from admin_api.queries.events import Cursor
from admin_api.schemas.properties import MAX_MAPPINGS
from beds24_sandbox.server import SandboxServer
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.engine import events, from_schema

from .conftest import TOKEN, Admin, admin_settings, serve

CONFIG = Path(__file__).parents[2] / "schemathesis.toml"
SEED = 20260501
EXAMPLES = 25


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    checks: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop_reason: str | None = None


def _run(url: str) -> Outcome:
    config = schemathesis.Config.from_path(CONFIG)
    config.update(seed=SEED, max_failures=None)
    project = config.projects.override
    project.update(headers={"Authorization": f"Bearer {TOKEN}"}, workers=1)
    project.generation.update(max_examples=EXAMPLES, database="none")
    project.checks.update(included_check_names=["all"])  # as `--checks all`
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(event.recorder, outcome)
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.title}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(repr(event.exception))
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = event.stop_reason.value
            outcome.failures += [f"after the run: {f.title}: {f.message}" for f in event.failures]
    return outcome


def _record(recorder: Any, outcome: Outcome) -> None:
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            outcome.statuses[interaction.response.status_code] += 1
    for nodes in recorder.checks.values():
        for node in nodes:
            outcome.checks.add(node.name)
            if node.failure_info is not None:
                failure = node.failure_info.failure
                outcome.failures.append(
                    f"{recorder.label} [{node.name}] {failure.title}: {failure.message}\n"
                    f"    {node.failure_info.code_sample}"
                )


@pytest.fixture
async def admin_on_sandbox(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer, db: Any
) -> AsyncIterator[Admin]:
    """Beds24 is the sandbox here, so that onboarding answers as it would in production."""
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


async def test_schemathesis_with_every_check_finds_nothing(admin_on_sandbox: Admin) -> None:
    started = time.monotonic()
    outcome = await asyncio.to_thread(_run, admin_on_sandbox.url)
    took = time.monotonic() - started
    load_all_checks()
    assert outcome.checks == {*CHECKS.get_all_names(), "max_response_time"}  # every check ran
    assert outcome.stop_reason == "completed"
    assert not outcome.errors, "\n".join(outcome.errors)
    assert not outcome.failures, "\n".join(sorted(set(outcome.failures)))
    assert outcome.statuses and not [s for s in outcome.statuses if s >= 500]
    print(f"schemathesis: {outcome.statuses.total()} answers in {took:.1f}s: {outcome.statuses}")


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


async def test_a_literal_segment_is_not_taken_for_an_id(admin: Admin, db: Any) -> None:
    """/admin/events/retry serves POST only: GET is its 405, not event id "retry" (400)."""
    async with admin.client() as client:
        for method in ("GET", "HEAD", "PUT", "DELETE", "PATCH"):
            response = await client.request(method, "/admin/events/retry")
            assert response.status_code == 405, method
            assert response.headers["allow"] == "POST", method
        assert (await client.get(f"/admin/events/{uuid.uuid4()}")).status_code == 404
        malformed = await client.get("/admin/events/retryx")
        assert malformed.status_code == 400 and "'event_id'" in malformed.json()["error"]


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
            ("/admin/events", {"cursor": f"1.{uuid.uuid4().hex}\n"}),
            ("/admin/events/12345678123456781234567812345678", {}),
            ("/admin/properties/urn:uuid:12345678-1234-5678-1234-567812345678", {}),
            ("/admin/dlq/sweep", {"limit": "+5"}),
        ]:
            method = "POST" if path.endswith("sweep") else "GET"
            response = await client.request(method, path, params=params)
            assert response.status_code == 400, (path, params, response.text)
            assert response.json()["error"], (path, params)


async def test_every_cursor_the_document_allows_is_a_page(admin: Admin, db: Any) -> None:
    async with admin.client() as client:
        document = (await client.get("/openapi.json")).json()
        pattern = _parameter(document, "/admin/events", "get", "cursor")["anyOf"][0]["pattern"]
        made = Cursor(datetime.now(UTC), uuid.uuid4()).encode()
        for cursor in (made, "0." + "0" * 32, "9" * 18 + "." + "f" * 32, "123.00ff" + "0" * 28):
            assert re.fullmatch(pattern, cursor), cursor
            response = await client.get("/admin/events", params={"cursor": cursor})
            assert response.status_code == 200, (cursor, response.text)
        text = _parameter(document, "/admin/events", "get", "event_type")["anyOf"][0]
        assert text["pattern"] == "^[^\\x00]*$"  # what parse_query refuses, said


async def test_the_document_and_the_api_agree_on_credentials(
    admin_on_sandbox: Admin, db: Any
) -> None:
    """Exactly one of invite_code or refresh_token, and a name unless property_id is given:
    what the schema calls valid is never a 400 (Beds24 refuses made-up credentials: 422; an
    unknown property: 404), what it calls invalid always is; nothing is stored either way."""
    async with admin_on_sandbox.client() as client:
        document = (await client.get("/openapi.json")).json()
        register = _body_validator(document, "/admin/properties", "post")
        replace = _body_validator(document, "/admin/properties/{property_id}/credentials", "put")
        new = {"name": "X", "beds24_property_id": 1}
        for body, valid in [
            ({**new, "refresh_token": "made-up"}, True),
            ({**new, "invite_code": "made-up", "refresh_token": None}, True),
            ({**new, "name": None, "property_id": str(uuid.uuid4()), "invite_code": "c"}, True),
            (new, False),
            ({**new, "invite_code": None, "refresh_token": None}, False),
            ({**new, "invite_code": "a", "refresh_token": "b"}, False),
            ({"beds24_property_id": 1, "refresh_token": "b"}, False),
            ({**new, "name": None, "refresh_token": "b"}, False),
            ({**new, "refresh_token": "two words"}, False),
            ({**new, "invite_code": "\u00e9t\u00e9"}, False),
            ({**new, "name": "a\x00b", "refresh_token": "b"}, False),
        ]:
            assert register.is_valid(body) is valid, body
            response = await client.post("/admin/properties", json=body)
            assert (response.status_code == 400) is not valid, (body, response.text)
            assert response.status_code in (400, 404, 422), (body, response.text)
            assert response.json()["error"], body
        target = f"/admin/properties/{uuid.uuid4()}/credentials"
        for body, valid in [
            ({"refresh_token": "made-up"}, True),
            ({"invite_code": "made-up", "refresh_token": None}, True),
            ({}, False),
            ({"invite_code": None, "refresh_token": None}, False),
            ({"invite_code": "a", "refresh_token": "b"}, False),
        ]:
            assert replace.is_valid(body) is valid, body
            response = await client.put(target, json=body)
            assert response.status_code == (404 if valid else 400), (body, response.text)
        listed = (await client.get("/admin/properties")).json()
        assert listed == {"properties": []}


async def test_refusals_are_documented_where_they_happen(admin: Admin) -> None:
    async with admin.client(token=None) as client:
        document = (await client.get("/openapi.json")).json()
    for path, method in [
        ("/admin/properties", "post"),
        ("/admin/properties/{property_id}/credentials", "put"),
        ("/admin/properties/{property_id}/mappings", "put"),
    ]:
        assert "422" in document["paths"][path][method]["responses"], (path, method)
    mappings = document["components"]["schemas"]["Mappings"]["properties"]["mappings"]
    assert mappings["maxItems"] == MAX_MAPPINGS
    too_large = document["paths"]["/admin/properties"]["post"]["responses"]["413"]
    limit = admin.settings.max_body_bytes
    assert too_large["description"] == f"request body larger than {limit} bytes"


def _parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    parameters = document["paths"][path][method]["parameters"]
    schema: dict[str, Any] = next(p["schema"] for p in parameters if p["name"] == name)
    return schema


def _body_validator(document: dict[str, Any], path: str, method: str) -> Any:
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    schema = {**body["schema"], "components": document["components"]}
    return jsonschema_rs.validator_for(schema, validate_formats=True)
