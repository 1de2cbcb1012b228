"""/openapi.json, built from the endpoint declarations and their pydantic models.

It states what each route really accepts and answers: path ids as UUIDs, query parameters
and bodies with their formats, bounds and rules (from the models, including the rules that
span fields, e.g. exactly one credential), text without NUL (parsing refuses it anywhere),
and every status a route can give: its own, plus 400 for a request that breaks this
document, 401 without the admin token or an operator's secret, 403 for a viewer's change,
413 for a body over the limit (any route), 503 while Postgres is out of reach, and 405
with `Allow` for a method the path does not serve. A request that keeps to the document is
refused only for what no schema can state: the state of the data (404, 409) or a rule about
it (422, named per route).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin_api.endpoint import Endpoint

_REF = "#/components/schemas/{model}"
_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_UUID = {"type": "string", "format": "uuid"}
_ALLOW = {"Allow": {"description": "the methods this path serves", "schema": {"type": "string"}}}
# Answers every /admin route can give, besides its own.
_COMMON = {
    401: "missing or invalid admin token",
    413: "request body larger than the limit",
    503: "a dependency (Postgres, RabbitMQ, Beds24 credits) is unavailable; try again",
}
_DESCRIPTIONS = {
    400: "the request does not keep to this document: a parameter or body field (named in "
    "`error`) is missing, malformed, out of bounds or unknown",
    403: "the caller is a viewer: viewers cannot change anything (recorded in the audit trail)",
    404: "not found",
    405: "method not allowed",
    409: "conflicts with the current state",
    422: "well-formed, but refused by a rule about the data (said in `error`); nothing is stored",
    502: "Beds24 refused or did not answer",
    **_COMMON,
}
# parsing.parse_query and channel_sync.json_input refuse a NUL in any text (Postgres cannot
# hold one), so every free-text string a request takes says so. Formats named here hold no
# NUL by themselves.
_NO_NUL = "^[^\\x00]*$"
_NUL_FREE_FORMATS = frozenset({"uuid", "date-time", "date"})
# Routes that are not Endpoints: health, metrics and this document.
_PLAIN = {
    "/healthz": ("Alive", ()),
    "/readyz": ("Postgres and RabbitMQ reachable (503 otherwise)", (503,)),
    "/metrics": ("Prometheus metrics", ()),
    "/openapi.json": ("This document", ()),
}


def document(endpoints: list[Endpoint], *, max_body_bytes: int | None = None) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    descriptions = dict(_DESCRIPTIONS)
    if max_body_bytes is not None:
        descriptions[413] = f"request body larger than {max_body_bytes} bytes"
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components, descriptions
        )
    for path, (summary, errors) in _PLAIN.items():
        responses = {"200": {"description": "OK"}, **_errors((*errors, 405), descriptions)}
        paths[path] = {"get": {"summary": summary, "security": [], "responses": responses}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "channel-sync admin-api", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"admin": []}],
        "paths": paths,
    }


def _operation(
    endpoint: Endpoint, components: dict[str, Any], descriptions: dict[int, str]
) -> dict[str, Any]:
    # Every path parameter of this API is an id (parsing.path_uuid).
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        }
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    if endpoint.query is not None:
        schema = _schema(endpoint.query, components, request=True)
        required = set(schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    takes_input = bool(parameters) or endpoint.body is not None
    responses = _errors(
        (
            *_COMMON,
            405,
            *((400,) if takes_input else ()),
            *((403,) if endpoint.action else ()),
            *endpoint.errors,
        ),
        descriptions,
    )
    ok: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(endpoint.response, components)}}
    responses[str(endpoint.status)] = ok
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if endpoint.handler.__doc__:
        operation["description"] = endpoint.handler.__doc__.strip()
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {
                "application/json": {"schema": _ref(endpoint.body, components, request=True)}
            },
        }
    return operation


def _errors(codes: tuple[int, ...], descriptions: dict[int, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for code in sorted(set(codes)):
        answers[str(code)] = {
            "description": descriptions[code],
            "content": {"application/json": {"schema": _ERROR}},
        }
        if code == 405:
            answers[str(code)]["headers"] = _ALLOW
    return answers


def _schema(
    model: type[BaseModel], components: dict[str, Any], *, request: bool = False
) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    if request:
        _without_nul(schema)
    for name, definition in schema.pop("$defs", {}).items():
        _add(components, name, definition)
    return schema


def _ref(
    model: type[BaseModel], components: dict[str, Any], *, request: bool = False
) -> dict[str, str]:
    _add(components, model.__name__, _schema(model, components, request=request))
    return {"$ref": _REF.format(model=model.__name__)}


def _add(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    # A model both taken and answered must read the same both ways (or get two names).
    if components.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas named {name}")


def _without_nul(node: Any) -> None:
    """Every free-text string below `node` (no pattern, enum or NUL-free format) gets the
    NUL-free pattern."""
    if isinstance(node, list):
        for item in node:
            _without_nul(item)
    elif isinstance(node, dict):
        if (
            node.get("type") == "string"
            and not {"pattern", "enum", "const"} & node.keys()
            and node.get("format") not in _NUL_FREE_FORMATS
        ):
            node["pattern"] = _NO_NUL
        for value in node.values():
            _without_nul(value)


def openapi_route(endpoints: list[Endpoint], *, max_body_bytes: int | None = None) -> Route:
    built = document(endpoints, max_body_bytes=max_body_bytes)

    async def openapi(_: Request) -> Response:
        return JSONResponse(built)

    return Route("/openapi.json", openapi, methods=["GET"])
