"""Who is acting: a named operator account, or the admin token (automation's own identity),
and what each role may do. Decided once here, used by the API, the console and the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from uuid import UUID


class Role(enum.StrEnum):
    VIEWER = "viewer"  # reads everything, changes nothing
    OPERATOR = "operator"  # also retries, replays, resolves, rotates secrets, onboards


# The name the admin token acts under in the audit trail; no operator may take it.
ADMIN_TOKEN_NAME = "admin-token"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    operator_id: UUID | None = None  # None: the admin token

    @property
    def can_change(self) -> bool:
        return self.role is Role.OPERATOR


ADMIN_TOKEN = Actor(ADMIN_TOKEN_NAME, Role.OPERATOR)
