"""Stairway test: every migration up, down and up again on a scratch database."""

from __future__ import annotations

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from channel_sync.migrate import alembic_config
from channel_sync_testing import infra

from conftest import ADMIN_DSN

SEED_EVENT_COLUMNS = {
    "id",
    "property_id",
    "direction",
    "event_type",
    "entity_type",
    "entity_external_id",
    "entity_internal_id",
    "idempotency_key",
    "payload",
    "status",
    "attempts",
    "max_attempts",
    "last_error",
    "received_at",
    "processed_at",
}
SEED_MAPPING_COLUMNS = {
    "id",
    "property_id",
    "mapping_type",
    "internal_id",
    "external_id",
    "is_active",
    "created_at",
}


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _columns(conn: asyncpg.Connection, table: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table
    )
    return {r["column_name"] for r in rows}


@pytest.mark.infra  # makes its own databases
async def test_every_migration_goes_up_down_and_up_again() -> None:
    name, dsn = await infra.create_database(ADMIN_DSN, prefix="chsync_stairway")
    try:
        previous = "base"
        for revision in _revisions():
            infra.migrate(dsn, revision)
            infra.migrate(dsn, previous, down=True)
            infra.migrate(dsn, revision)
            previous = revision
        infra.migrate(dsn, "base", down=True)
        conn = await asyncpg.connect(dsn)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
            )
        finally:
            await conn.close()
        assert left == 0
    finally:
        await infra.drop_database(ADMIN_DSN, name)


async def test_seed_schema_is_present(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        assert await _columns(conn, "channel_events") >= SEED_EVENT_COLUMNS
        assert await _columns(conn, "channel_mappings") >= SEED_MAPPING_COLUMNS
        indexes = {
            r["indexname"]: r["indexdef"]
            for r in await conn.fetch("SELECT indexname, indexdef FROM pg_indexes")
        }
        assert "UNIQUE" in indexes["idx_channel_events_idempotency"]
        assert "(status, received_at)" in indexes["idx_channel_events_status"]
        assert "(entity_external_id)" in indexes["idx_channel_events_external_id"]
        assert "(mapping_type, internal_id, is_active)" in indexes["idx_channel_mappings_lookup"]
        checks = {
            r["def"]
            for r in await conn.fetch(
                "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint "
                "WHERE conrelid = 'channel_events'::regclass"
            )
        }
        assert any("inbound" in c and "outbound" in c for c in checks)
        assert any("processing" in c and "failed" in c for c in checks)
        unique_mapping = await conn.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'channel_mappings'::regclass "
            "AND contype = 'u'"
        )
        assert unique_mapping == 1


@pytest.mark.infra  # makes its own database
async def test_mappings_migration_copies_rooms_beds24_room_id() -> None:
    name, dsn = await infra.create_database(ADMIN_DSN, prefix="chsync_mapmig")
    try:
        infra.migrate(dsn, "0002")
        conn = await asyncpg.connect(dsn)
        try:
            prop = await conn.fetchval(
                "INSERT INTO hotel_settings (name) VALUES ('H') RETURNING id"
            )
            mapped = await conn.fetchval(
                "INSERT INTO rooms (property_id, name, beds24_room_id) VALUES ($1, '101', '555') "
                "RETURNING id",
                prop,
            )
            await conn.execute("INSERT INTO rooms (property_id, name) VALUES ($1, '102')", prop)
            infra.migrate(dsn, "0003")
            rows = await conn.fetch(
                "SELECT mapping_type, internal_id, external_id FROM channel_mappings"
            )
        finally:
            await conn.close()
        assert [(r["mapping_type"], r["internal_id"], r["external_id"]) for r in rows] == [
            ("room", mapped, "555")
        ]
    finally:
        await infra.drop_database(ADMIN_DSN, name)
