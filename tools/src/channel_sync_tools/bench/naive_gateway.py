"""The naive baseline of the gateway benchmark (bench code, never deployed): per request one
INSERT of the body and one publish awaited with its confirm, nothing else (no
authentication, validation, dedupe or correlation). It publishes to a quorum queue, as the
project's topology does.

    DATABASE_URL=... RABBITMQ_URL=... uvicorn channel_sync_tools.bench.naive_gateway:app

It answers GET /healthz once its pool and broker connection are up.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

QUEUE = "naive.bench"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4, max_size=10)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS naive_webhooks (id bigserial PRIMARY KEY, body jsonb)"
    )
    connection = await aio_pika.connect_robust(os.environ["RABBITMQ_URL"])
    channel = await connection.channel(publisher_confirms=True)
    # A quorum queue, like every queue of the project's topology: both servers pay the
    # broker for the same durability.
    await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    try:
        yield {"pool": pool, "channel": channel}
    finally:
        await connection.close()
        await pool.close()


async def receive(request: Request) -> JSONResponse:
    body = await request.body()
    await request.state.pool.execute(
        "INSERT INTO naive_webhooks (body) VALUES ($1::jsonb)", body.decode()
    )
    message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await request.state.channel.default_exchange.publish(message, routing_key=QUEUE)
    return JSONResponse({"status": "stored"})


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/naive", receive, methods=["POST"]), Route("/healthz", healthz)],
    lifespan=lifespan,
)
