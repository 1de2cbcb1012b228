"""Body limits, malformed input and the OpenAPI document."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
from admin_api.schemas.properties import MAX_MAPPINGS
from admin_api.settings import AdminSettings
from starlette.routing import Mount, Route

from .conftest import Admin


async def test_oversized_bodies_are_refused_with_json(api: httpx.AsyncClient) -> None:
    big = b'{"mappings": [' + b" " * (64 * 1024) + b"]}"
    declared = await api.put(f"/admin/properties/{uuid.uuid4()}/mappings", content=big)
    assert declared.status_code == 413
    assert "larger than" in declared.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b" " * 8192

    streamed = await api.put(f"/admin/properties/{uuid.uuid4()}/mappings", content=chunks())
    assert streamed.status_code == 413
    assert "larger than" in streamed.json()["error"]


async def test_the_largest_valid_mappings_body_is_under_the_body_limit(
    api: httpx.AsyncClient,
) -> None:
    """Every item at its longest, indented: read (an unknown property, 404), never a 413."""
    item = {
        "mapping_type": "room_type",
        "internal_id": str(uuid.uuid4()),
        "external_id": "9" * 19,
        "external_unit_id": "9" * 19,
    }
    largest = json.dumps({"mappings": [item] * MAX_MAPPINGS}, indent=2).encode()
    assert len(largest) < AdminSettings.model_fields["max_body_bytes"].default
    response = await api.put(f"/admin/properties/{uuid.uuid4()}/mappings", content=largest)
    assert response.status_code == 404, response.text


async def test_malformed_json_and_missing_body(api: httpx.AsyncClient) -> None:
    response = await api.post("/admin/properties", content=b"[1, 2")
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON")
    empty = await api.post("/admin/properties")
    assert empty.status_code == 400 and empty.json() == {"error": "a JSON body is required"}
    wrong_shape = await api.post("/admin/properties", json=[1, 2])
    assert wrong_shape.status_code == 400


async def test_openapi_lists_every_route_and_method(admin: Admin) -> None:
    async with admin.client(token=None) as client:
        document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for route in admin.app.routes:
        if isinstance(route, Mount) and route.path == "/console":
            continue  # the ops console's HTML pages are not part of the JSON API
        assert isinstance(route, Route)
        served |= {(route.path, m.lower()) for m in route.methods or () if m != "HEAD"}
    assert served == documented
    assert not any(path.startswith("/console") for path, _ in documented)
    for path, ops in document["paths"].items():
        for method, operation in ops.items():
            assert operation["summary"], (path, method)
            if path.startswith("/admin"):
                assert {"401", "405", "413", "503"} <= set(operation["responses"]), (path, method)
                assert "Allow" in operation["responses"]["405"]["headers"]
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":  # every path parameter is an id
                    assert parameter["schema"] == {"type": "string", "format": "uuid"}
                    assert "400" in operation["responses"], (path, method)
    refs = _refs(document)
    assert refs and all(r.split("/")[-1] in document["components"]["schemas"] for r in refs)
    listing = document["paths"]["/admin/events"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status",
        "direction",
        "event_type",
        "property_id",
        "beds24_booking_id",
        "since",
        "until",
        "entity_type",
        "limit",
        "cursor",
    }


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()
