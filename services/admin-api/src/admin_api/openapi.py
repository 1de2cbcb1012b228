"""/openapi.json, built from the endpoint declarations and their pydantic models.

It states what each route really accepts and answers: path ids as UUIDs, query parameters
with their formats and bounds (from the models), and every status a route can give: its
own, plus 400 for any parameter or body, 401 without the admin token, 413 for a body over
the limit (any route), 503 while Postgres is out of reach, and 405 with `Allow` for a method
the path does not serve.
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
    400: "a parameter or body field is invalid (named in `error`)",
    404: "not found",
    405: "method not allowed",
    409: "conflicts with the current state",
    502: "Beds24 refused or did not answer",
    **_COMMON,
}
# Routes that are not Endpoints: health, metrics and this document.
_PLAIN = {
    "/healthz": ("Alive", ()),
    "/readyz": ("Postgres and RabbitMQ reachable (503 otherwise)", (503,)),
    "/metrics": ("Prometheus metrics", ()),
    "/openapi.json": ("This document", ()),
}


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components
        )
    for path, (summary, errors) in _PLAIN.items():
        responses = {"200": {"description": "OK"}, **_errors((*errors, 405))}
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


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
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
        schema = _schema(endpoint.query, components)
        required = set(schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    takes_input = bool(parameters) or endpoint.body is not None
    responses = _errors((*_COMMON, 405, *((400,) if takes_input else ()), *endpoint.errors))
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
            "content": {"application/json": {"schema": _ref(endpoint.body, components)}},
        }
    return operation


def _errors(codes: tuple[int, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for code in sorted(set(codes)):
        answers[str(code)] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": _ERROR}},
        }
        if code == 405:
            answers[str(code)]["headers"] = _ALLOW
    return answers


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    components[model.__name__] = _schema(model, components)
    return {"$ref": _REF.format(model=model.__name__)}


def openapi_route(endpoints: list[Endpoint]) -> Route:
    built = document(endpoints)

    async def openapi(_: Request) -> Response:
        return JSONResponse(built)

    return Route("/openapi.json", openapi, methods=["GET"])
