"""Form and query fields into the JSON API's own models: an empty field means "not given",
and every problem is a BadRequest naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, QueryParams

from admin_api.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


def filled(fields: QueryParams | FormData, *, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    return {
        k: v.strip()
        for k, v in fields.items()
        if isinstance(v, str) and v.strip() and k not in skip
    }


def validate(model: type[M], values: Mapping[str, object]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        name = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise BadRequest(f"{name.replace('_', ' ')}: {message}" if name else message) from None


def uuids(values: list[str], what: str) -> list[UUID]:
    try:
        return [UUID(v) for v in values]
    except ValueError:
        raise BadRequest(f"not a {what} id") from None


def path_id(value: str, what: str) -> UUID:
    return uuids([value], what)[0]
