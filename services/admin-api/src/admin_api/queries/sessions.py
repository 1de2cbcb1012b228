"""SQL for console sessions (table `console_sessions`). Rows are keyed by the SHA-256 of the
cookie's token, so the table alone opens no session."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from channel_sync.db import Connection

from admin_api.identity import ADMIN_TOKEN_NAME, Actor, Role


@dataclass(frozen=True)
class LiveSession:
    csrf: str
    actor: Actor


async def create(
    conn: Connection,
    session_id: str,
    *,
    operator_id: UUID | None,
    token_fingerprint: str | None,
    csrf: str,
    max_age_s: int,
) -> None:
    await conn.execute(
        """INSERT INTO console_sessions (id, operator_id, token_fingerprint, csrf_token,
                                         expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))""",
        session_id,
        operator_id,
        token_fingerprint,
        csrf,
        float(max_age_s),
    )


async def touch(
    conn: Connection, session_id: str, *, idle_s: int, token_fingerprint: str
) -> LiveSession | None:
    """The session if it is still live (not past its absolute or idle timeout, its operator
    not revoked, or its admin token still the one in force), marked as seen now. A session
    that is not live is deleted."""
    record = await conn.fetchrow(
        """WITH live AS (
               SELECT s.id, s.csrf_token, s.operator_id, o.name, o.role
               FROM console_sessions s LEFT JOIN operators o ON o.id = s.operator_id
               WHERE s.id = $1 AND s.expires_at > now()
                 AND s.last_seen_at > now() - make_interval(secs => $2)
                 AND (o.id IS NOT NULL AND o.revoked_at IS NULL
                      OR s.operator_id IS NULL AND s.token_fingerprint = $3)
           ), seen AS (
               UPDATE console_sessions SET last_seen_at = now()
               WHERE id IN (SELECT id FROM live)
           )
           SELECT csrf_token, operator_id, name, role FROM live""",
        session_id,
        float(idle_s),
        token_fingerprint,
    )
    if record is None:
        await end(conn, session_id)
        return None
    if record["operator_id"] is None:
        actor = Actor(ADMIN_TOKEN_NAME, Role.OPERATOR)
    else:
        actor = Actor(record["name"], Role(record["role"]), record["operator_id"])
    return LiveSession(record["csrf_token"], actor)


async def end(conn: Connection, session_id: str) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE id = $1", session_id)


async def prune(conn: Connection, *, idle_s: int) -> int:
    """Drop sessions past either timeout (they would be refused anyway)."""
    result: str = await conn.execute(
        """DELETE FROM console_sessions
           WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)""",
        float(idle_s),
    )
    return int(result.split()[-1])
