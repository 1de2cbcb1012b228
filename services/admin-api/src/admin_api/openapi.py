"""/openapi.json, built from the endpoint declarations and their pydantic models."""

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
# Routes that are not Endpoints: health, metrics and this document.
_PLAIN = {
    "/healthz": "Alive",
    "/readyz": "Postgres and RabbitMQ reachable (503 otherwise)",
    "/metrics": "Prometheus metrics",
    "/openapi.json": "This document",
}


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components
        )
    for path, summary in _PLAIN.items():
        paths[path] = {
            "get": {"summary": summary, "security": [], "responses": {"200": {"description": "OK"}}}
        }
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
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    if endpoint.query is not None:
        schema = _schema(endpoint.query, components)
        required = set(schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    responses: dict[str, Any] = {
        str(code): {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
        for code in (401, *endpoint.errors)
    }
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
