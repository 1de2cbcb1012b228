"""The gateway with RabbitMQ or Postgres out of reach (pointed at a closed port, so other
test runs sharing the machine's broker and database are not disturbed)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from channel_sync.amqp.publisher import Publisher
from channel_sync.events import Direction, EventMessage
from channel_sync.relay import Relay
from channel_sync_testing.waiting import wait_for

from .support import Hotel, Tap, closed_port, gateway_settings, inbound_events, serving, webhook


async def test_broker_down_webhook_still_accepted_then_relay_publishes_it(
    database_url: str,
    hotel: Hotel,
    db: asyncpg.Pool,
    tap: Tap,
    amqp_connection: AbstractRobustConnection,
) -> None:
    dead_broker = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    settings = gateway_settings(database_url, dead_broker, amqp_reconnect_interval_s=60)
    async with serving(settings) as gateway:
        response = await gateway.post(hotel.path, json=webhook(71001), headers=hotel.auth)
        ready = await gateway.get("/readyz")
        metrics = (await gateway.get("/metrics")).text

    assert response.status_code == 200, response.text
    assert ready.status_code == 200  # stores webhooks without the broker: stays in service
    assert "webhook_gateway_broker_connected 0.0" in metrics
    [event] = await inbound_events(db)
    assert event["status"] == "received"
    async with db.acquire() as conn:
        due = await conn.fetchval(
            "SELECT next_attempt_at <= now() FROM channel_events WHERE id = $1", event["id"]
        )
    assert due, "a row the gateway could not publish is handed to the relay at once"

    # The relay (run by the inbound worker) publishes it once a broker is reachable.
    publisher = await Publisher.open(amqp_connection)
    relay = Relay(pool=db, publisher=publisher, direction=Direction.INBOUND, poll_interval_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        bodies = await wait_for(tap.drain, what="relayed message")
    finally:
        stop.set()
        await task
        await publisher.close()
    assert [EventMessage.model_validate_json(b).event_id for b in bodies] == [event["id"]]
    [relayed] = await inbound_events(db)
    assert relayed["status"] == "processing"


async def test_broker_coming_back_is_used_without_restart(
    database_url: str, amqp_url: str, hotel: Hotel, db: asyncpg.Pool, tap: Tap
) -> None:
    """Start with a broker URL that refuses, then let a TCP proxy to the real broker listen
    on that port: the background reconnect picks it up."""
    port = closed_port()
    real = urlsplit(amqp_url)
    settings = gateway_settings(
        database_url,
        urlunsplit(real._replace(netloc=f"guest:guest@127.0.0.1:{port}")),
        amqp_reconnect_interval_s=0.2,
    )
    async with serving(settings) as gateway:
        first = await gateway.post(hotel.path, json=webhook(71011), headers=hotel.auth)
        async with _proxy(port, real.hostname or "127.0.0.1", real.port or 5672):
            await wait_for(lambda: _broker_connected(gateway), timeout=15, what="reconnect")
            second = await gateway.post(hotel.path, json=webhook(71012), headers=hotel.auth)
            statuses = await wait_for(
                lambda: _statuses_once_published(db, "71012"), what="the second one published"
            )

    assert first.status_code == second.status_code == 200
    assert statuses == {"71011": "received", "71012": "processing"}
    bodies = await wait_for(tap.drain, what="the second webhook's message")
    assert len(bodies) == 1


async def _broker_connected(gateway) -> bool:  # type: ignore[no-untyped-def]
    return "webhook_gateway_broker_connected 1.0" in (await gateway.get("/metrics")).text


@contextlib.asynccontextmanager
async def _proxy(port: int, host: str, target_port: int):  # type: ignore[no-untyped-def]
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, target_port)
        writers.extend((writer, up_writer))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_database_down_is_503_with_a_short_json_reason(amqp_url: str, hotel: Hotel) -> None:
    dead_db = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    settings = gateway_settings(dead_db, amqp_url, db_pool_min_size=0)
    async with serving(settings) as gateway:
        post = await gateway.post(hotel.path, json=webhook(71021), headers=hotel.auth)
        ping = await gateway.get(hotel.path, params={"bookid": "1"}, headers=hotel.auth)
        ready = await gateway.get("/readyz")

    assert post.status_code == ping.status_code == 503
    assert post.json() == {"error": "database unavailable, retry later"}
    assert ready.status_code == 503


async def _statuses_once_published(db: asyncpg.Pool, booking_id: str) -> dict[str, str] | None:
    statuses = {e["entity_external_id"]: e["status"] for e in await inbound_events(db)}
    return statuses if statuses.get(booking_id) == "processing" else None
