"""Turning query strings, path parameters and JSON bodies into validated models.

Every failure is a BadRequest naming the offending parameter or field, so an operator can
fix a typo; unknown query parameters are refused too (a misspelt filter on a bulk retry
must not silently widen it to everything).

Parameters parse strictly, as the OpenAPI document states them: an integer is ASCII digits
(not ` 1`, `+1`, `1_000` or `1.0`), a date-time is RFC 3339 (not a Unix timestamp), a UUID is
its canonical 8-4-4-4-12 form, a boolean is `true` or `false`. The annotated types below
carry those rules into the query models; JSON bodies go through channel_sync.json_input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from channel_sync.json_input import UnsafeJson, parse_json
from pydantic import BaseModel, BeforeValidator, ValidationError
from starlette.requests import Request

from admin_api.errors import BadRequest

M = TypeVar("M", bound=BaseModel)

_DIGITS = re.compile(r"[0-9]{1,19}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _strict_int(value: Any) -> Any:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be digits only (at most 19)")
    return value


def _strict_datetime(value: Any) -> Any:
    """RFC 3339; without a zone it is taken as UTC. Kept in UTC so that no time is out of
    range once Postgres converts it (`9999-12-31T23:59:59-01:00` is refused here)."""
    if not isinstance(value, str):
        return value
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2031-05-01T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("not a date-time in range") from None


def _strict_bool(value: Any) -> Any:
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value


def _strict_uuid(value: Any) -> Any:
    if isinstance(value, str) and not _UUID.fullmatch(value):
        raise ValueError("must be a UUID (8-4-4-4-12 hex digits)")
    return value


# Types for query models (and the bodies that share them); their JSON schema is unchanged.
QueryInt = Annotated[int, BeforeValidator(_strict_int)]
QueryDateTime = Annotated[datetime, BeforeValidator(_strict_datetime)]
QueryBool = Annotated[bool, BeforeValidator(_strict_bool)]
QueryUUID = Annotated[UUID, BeforeValidator(_strict_uuid)]


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
    holding_nul = sorted(key for key, value in params.items() if "\x00" in key + value)
    if holding_nul:  # Postgres refuses NUL in text; nothing of it must reach a statement
        raise BadRequest("a query parameter holds a NUL character")
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
        data = parse_json(raw)
    except UnsafeJson as exc:
        raise BadRequest(f"the {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc, "field") from None


def path_uuid(request: Request, name: str) -> UUID:
    value = request.path_params[name]
    if not _UUID.fullmatch(value):
        raise BadRequest(f"invalid path parameter {name!r}: not a UUID")
    return UUID(value)
