"""The lag report reads how far behind each direction and property is, from Postgres."""

from __future__ import annotations

import asyncpg
from channel_sync.events import Direction
from channel_sync.lag import (
    OLDEST_PENDING,
    OLDEST_SYNC_RUN,
    PROPERTY_LAST_WEBHOOK,
    PROPERTY_OLDEST_PENDING,
    LagReport,
)
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.factories import new_event

from .factories import insert_property

repo = ChannelEventRepository()


async def _age(conn: asyncpg.Connection, event_id: object, minutes: int) -> None:
    await conn.execute(
        "UPDATE channel_events SET received_at = now() - make_interval(mins => $2) WHERE id = $1",
        event_id,
        minutes,
    )


async def test_pending_events_report_their_age_per_property_and_direction(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        late = await insert_property(conn, "Late Hotel")
        fine = await insert_property(conn, "Fine Hotel")
        old = await repo.create(conn, new_event(late, direction=Direction.OUTBOUND))
        newer = await repo.create(conn, new_event(late, direction=Direction.OUTBOUND))
        done = await repo.create(conn, new_event(fine, direction=Direction.OUTBOUND))
        inbound = await repo.create(conn, new_event(fine))
        assert old and newer and done and inbound
        await _age(conn, old.id, 30)
        await _age(conn, newer.id, 5)
        await _age(conn, done.id, 120)
        await _age(conn, inbound.id, 60)
        await repo.mark_done(conn, done.id)

    report = LagReport(db, Direction.OUTBOUND)
    await report.round()
    late_age = PROPERTY_OLDEST_PENDING.labels(str(late), "outbound")._value.get()
    assert 30 * 60 - 5 <= late_age <= 30 * 60 + 60
    assert OLDEST_PENDING.labels("outbound")._value.get() == late_age  # inbound not counted

    async with db.acquire() as conn:
        await repo.mark_done(conn, old.id)
        await repo.mark_done(conn, newer.id)
    await report.round()
    assert PROPERTY_OLDEST_PENDING.labels(str(late), "outbound")._value.get() == 0
    assert OLDEST_PENDING.labels("outbound")._value.get() == 0


async def test_the_inbound_report_says_when_each_property_last_had_a_webhook(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        quiet = await insert_property(conn, "Quiet Hotel")
        busy = await insert_property(conn, "Busy Hotel")
        for prop, beds24_id in ((quiet, 901), (busy, 902)):
            await conn.execute(
                """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                       refresh_token) VALUES ($1, $2, 'acc', 'token')""",
                prop,
                beds24_id,
            )
        hook = await repo.create(conn, new_event(busy))
        polled = await repo.create(conn, new_event(quiet, payload={"source": "poll"}))
        assert hook and polled
        await conn.execute(
            """INSERT INTO sync_runs (property_id, kind, requested_at)
               VALUES ($1, 'reconcile', now() - interval '10 minutes')""",
            quiet,
        )
        now = await conn.fetchval("SELECT extract(epoch FROM now())::float8")

    await LagReport(db, Direction.INBOUND).round()
    busy_at = PROPERTY_LAST_WEBHOOK.labels(str(busy))._value.get()
    quiet_at = PROPERTY_LAST_WEBHOOK.labels(str(quiet))._value.get()
    assert abs(busy_at - now) < 60
    assert quiet_at <= now - 47 * 3600  # a poll is not a webhook: none in the window
    assert 600 - 5 <= OLDEST_SYNC_RUN._value.get() <= 600 + 60
