"""Turning query strings, path parameters and JSON bodies into validated models.

Every failure is a BadRequest naming the offending parameter or field, so an operator can
fix a typo; unknown query parameters are refused too (a misspelt filter on a bulk retry
must not silently widen it to everything).
"""

from __future__ import annotations

import json
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from admin_api.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


def _first_problem(exc: ValidationError, where: str) -> BadRequest:
    error = exc.errors(include_url=False, include_input=False)[0]
    name = ".".join(str(part) for part in error["loc"])
    if not name:  # a rule about several fields together
        return BadRequest(f"invalid request: {error['msg'].removeprefix('Value error, ')}")
    if error["type"] == "extra_forbidden":
        return BadRequest(f"unknown {where} {name!r}")
    return BadRequest(f"invalid {where} {name!r}: {error['msg']}")


def parse_query(request: Request, model: type[M]) -> M:
    params = request.query_params
    repeated = sorted({key for key in params if len(params.getlist(key)) > 1})
    if repeated:
        raise BadRequest(f"query parameter {repeated[0]!r} given more than once")
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise _first_problem(exc, "query parameter") from None


async def read_json(request: Request, model: type[M], *, optional: bool = False) -> M:
    """Validate the JSON body; with `optional`, an empty body means the model's defaults."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest("a JSON body is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc, "field") from None


def path_uuid(request: Request, name: str) -> UUID:
    value = request.path_params[name]
    try:
        return UUID(value)
    except ValueError:
        raise BadRequest(f"invalid path parameter {name!r}: not a UUID") from None
