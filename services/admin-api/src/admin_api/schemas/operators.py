"""Models for operator accounts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin_api.identity import Role
from admin_api.parsing import QueryBool
from admin_api.queries.operators import OperatorRow

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"


class NewOperator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN,
        description="2 to 64 letters, digits, dots, dashes or underscores; unique whatever "
        "the case, never reused (revoked accounts keep theirs)",
    )
    role: Role = Field(description="viewer: reads; operator: also changes")


class OperatorInfo(BaseModel):
    id: UUID
    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, row: OperatorRow) -> OperatorInfo:
        return cls.model_validate(row, from_attributes=True)


class CreatedOperator(BaseModel):
    operator: OperatorInfo
    secret: str = Field(
        description="the account's secret, shown this once: `Authorization: Bearer <secret>` "
        "on the API, or the console's login"
    )


class OperatorList(BaseModel):
    operators: list[OperatorInfo]


class ListOperatorsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_revoked: QueryBool = Field(default=True, description="false: active accounts only")
