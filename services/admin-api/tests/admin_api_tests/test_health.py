"""Property health through the admin API: lag each way is the age of the oldest event not
yet done or failed, 0 when nothing waits; done and failed events do not count as lag."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from channel_sync.events import Direction, EventStatus

from .factories import insert_event, insert_property


async def test_lag_each_way_is_the_oldest_waiting_event(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        prop = await insert_property(conn, name=f"0 Health {uuid.uuid4()}")  # listed first by name
        quiet = await insert_property(conn, name=f"Quiet {uuid.uuid4()}")
        await insert_event(
            conn, prop, direction=Direction.OUTBOUND, received_at=now - timedelta(seconds=90)
        )
        await insert_event(
            conn, prop, direction=Direction.OUTBOUND, received_at=now - timedelta(seconds=30)
        )
        # Finished work is not lag, however old.
        for status in (EventStatus.DONE, EventStatus.FAILED):
            await insert_event(
                conn,
                prop,
                direction=Direction.INBOUND,
                status=status,
                received_at=now - timedelta(hours=3),
            )

    one = await api.get(f"/admin/properties/{prop}/health")
    other = await api.get(f"/admin/properties/{quiet}/health")
    listed = await api.get("/admin/health", params={"limit": "500"})
    missing = await api.get(f"/admin/properties/{uuid.uuid4()}/health")
    bad = await api.get("/admin/health", params={"limit": "0"})

    assert one.status_code == 200
    body = one.json()
    assert 85 <= body["outbound_lag"]["seconds"] < 300
    assert body["outbound_lag"]["waiting_since"] is not None
    assert body["inbound_lag"] == {"waiting_since": None, "seconds": 0.0}
    assert (body["waiting"], body["failed"]) == (2, 1)
    assert other.json()["outbound_lag"]["seconds"] == 0.0
    names = {p["property_id"]: p for p in listed.json()["properties"]}
    listed_lag = names[str(prop)]["outbound_lag"]
    assert listed_lag["waiting_since"] == body["outbound_lag"]["waiting_since"]
    assert listed_lag["seconds"] >= 85
    assert missing.status_code == 404
    assert bad.status_code == 400
