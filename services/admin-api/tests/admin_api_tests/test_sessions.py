"""Console sessions live in Postgres: logout, revocation, the idle and absolute timeouts and a
new admin token each end them at once, whatever copy of the cookie is left; the CSRF token
is the session's, kept server-side, so a copied cookie alone cannot change anything."""

from __future__ import annotations

import asyncpg
import httpx
from channel_sync.events import EventStatus

from .conftest import TOKEN, Admin
from .factories import console_login, csrf_of, insert_event, insert_property, make_operator


def _copy(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client holding only the session cookie (as a stolen copy would)."""
    cookie = client.cookies.get("console_session")
    assert cookie
    return httpx.AsyncClient(base_url=str(client.base_url), cookies={"console_session": cookie})


async def test_a_copied_cookie_is_refused_right_after_logout(
    admin: Admin, db: asyncpg.Pool
) -> None:
    secret = await make_operator(db, "alice")
    async with console_login(admin.url, secret) as alice, _copy(alice) as thief:
        assert (await thief.get("/console/events")).status_code == 200  # the copy works...
        page = await alice.get("/console/events")
        logout = await alice.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
        assert logout.status_code == 303
        after = await thief.get("/console/events")  # ...until the logout, at once
        assert after.status_code == 303 and after.headers["location"].startswith("/console/login")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM console_sessions") == 0
        trail = await conn.fetch("SELECT actor, action FROM audit_log ORDER BY id")
    assert [(r["actor"], r["action"]) for r in trail] == [
        ("alice", "session.login"),
        ("alice", "session.logout"),
    ]


async def test_revoking_an_operator_ends_their_sessions(admin: Admin, db: asyncpg.Pool) -> None:
    secret = await make_operator(db, "bob")
    async with console_login(admin.url, secret) as bob:
        assert (await bob.get("/console/events")).status_code == 200
        async with db.acquire() as conn:
            operator_id = await conn.fetchval("SELECT id FROM operators WHERE name = 'bob'")
        async with admin.client() as api:
            assert (await api.post(f"/admin/operators/{operator_id}/revoke")).status_code == 200
        assert (await bob.get("/console/events")).status_code == 303
    async with httpx.AsyncClient(base_url=admin.url) as again:  # nor can bob log in again
        form = await again.get("/console/login")
        refused = await again.post(
            "/console/login", data={"csrf_token": csrf_of(form.text), "token": secret}
        )
        assert refused.status_code == 401 and "not right" in refused.text


async def test_idle_and_absolute_timeouts_end_a_session(admin: Admin, db: asyncpg.Pool) -> None:
    secret = await make_operator(db, "carol")
    for column, age in (
        ("last_seen_at", admin.settings.console_session_idle_s + 1),
        ("expires_at", 1),
    ):
        async with console_login(admin.url, secret) as carol:
            assert (await carol.get("/console/events")).status_code == 200
            async with db.acquire() as conn:
                await conn.execute(
                    f"UPDATE console_sessions SET {column} = now() - make_interval(secs => $1)",
                    float(age),
                )
            assert (await carol.get("/console/events")).status_code == 303, column
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM console_sessions") == 0


async def test_a_session_of_the_admin_token_ends_when_the_token_changes(
    admin: Admin, db: asyncpg.Pool
) -> None:
    async with console_login(admin.url, TOKEN) as client:
        assert (await client.get("/console/events")).status_code == 200
        async with db.acquire() as conn:
            stored = await conn.fetchrow("SELECT id, token_fingerprint FROM console_sessions")
            assert TOKEN not in str(dict(stored))
            assert stored["id"] != client.cookies.get("console_session")  # a hash of it
            await conn.execute("UPDATE console_sessions SET token_fingerprint = repeat('0', 64)")
        assert (await client.get("/console/events")).status_code == 303


async def test_the_csrf_token_is_the_sessions_and_not_in_the_cookie(
    admin: Admin, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        event = await insert_event(
            conn, await insert_property(conn), status=EventStatus.FAILED, last_error="boom"
        )
    alice_secret = await make_operator(db, "alice")
    bob_secret = await make_operator(db, "bob")
    async with (
        console_login(admin.url, alice_secret) as alice,
        console_login(admin.url, bob_secret) as bob,
        _copy(alice) as thief,
    ):
        alice_csrf = csrf_of((await alice.get("/console/events")).text)
        bob_csrf = csrf_of((await bob.get("/console/events")).text)
        assert alice_csrf != bob_csrf
        assert alice_csrf not in alice.cookies.get("console_session", "")
        for client, form in (
            (thief, {}),
            (thief, {"csrf_token": bob_csrf}),  # another session's token is no good either
            (bob, {"csrf_token": alice_csrf}),
        ):
            refused = await client.post(f"/console/events/{event.id}/retry", data=form)
            assert refused.status_code == 403, form
    async with db.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM channel_events WHERE id = $1", event.id)
    assert status == "failed"
