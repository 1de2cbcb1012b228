"""The field map (channel_sync.pms_fields) and every place that follows it agree.

The capture trigger is SQL and cannot import the map: its watch list is read from the file
migrations install and from the function Postgres actually runs, and compared with the map.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg
import pytest
from channel_sync import logging as log_config
from channel_sync.pms_fields import (
    FIELDS,
    INBOUND_COLUMNS,
    OUTBOUND_COLUMNS,
    PERSONAL_KEYS,
    Direction,
    Kind,
    capture_reservation_sql,
)

# The row of columns the trigger compares, OLD against NEW, to decide whether Beds24 is told.
_WATCHED = re.compile(
    r"ELSIF\s*\((?P<old>OLD\.[^)]*)\)\s*IS NOT DISTINCT FROM\s*\((?P<new>NEW\.[^)]*)\)",
    re.IGNORECASE,
)


def watched_columns(function_sql: str) -> list[str]:
    """The columns a capture trigger function watches (OLD and NEW must name the same)."""
    match = _WATCHED.search(function_sql)
    assert match, "the trigger no longer compares an OLD row with a NEW row"
    old = [c.strip().removeprefix("OLD.") for c in match["old"].split(",")]
    new = [c.strip().removeprefix("NEW.") for c in match["new"].split(",")]
    assert old == new, f"the trigger compares OLD {old} with NEW {new}"
    return old


def test_the_trigger_file_watches_exactly_the_outbound_fields() -> None:
    assert sorted(watched_columns(capture_reservation_sql())) == sorted(OUTBOUND_COLUMNS)


def test_a_field_the_trigger_does_not_watch_is_found() -> None:
    sql = capture_reservation_sql().replace("OLD.notes", "OLD.nothing")
    with pytest.raises(AssertionError):
        watched_columns(sql)
    dropped = (
        capture_reservation_sql().replace(", OLD.stay_id)", ")").replace(", NEW.stay_id)", ")")
    )
    assert sorted(watched_columns(dropped)) != sorted(OUTBOUND_COLUMNS)


def test_a_changed_trigger_file_comes_with_a_migration() -> None:
    """Migrations install the file as it is: a fresh database gets every edit, a deployed one
    only those a new migration installs. The newest migration naming a digest names this
    file's."""
    versions = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    digests = [
        found[1]
        for path in sorted(versions.glob("*.py"))
        if (found := re.search(r'CAPTURE_RESERVATION_SHA256 = "([0-9a-f]{64})"', path.read_text()))
    ]
    assert digests, "no migration names the digest of capture_reservation.sql"
    current = hashlib.sha256(capture_reservation_sql().encode()).hexdigest()
    assert digests[-1] == current, (
        "capture_reservation.sql changed: add a migration that installs it again "
        "(op.execute(capture_reservation_sql())) and names its CAPTURE_RESERVATION_SHA256"
    )


async def test_the_installed_trigger_watches_exactly_the_outbound_fields(
    db: asyncpg.Pool,
) -> None:
    """A change to the file that no migration installed shows here."""
    installed = await db.fetchval(
        "SELECT pg_get_functiondef('channel_sync_capture_reservation'::regproc)"
    )
    assert sorted(watched_columns(installed)) == sorted(OUTBOUND_COLUMNS)


async def test_every_field_is_a_reservations_column(db: asyncpg.Pool) -> None:
    rows = await db.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = 'reservations'"""
    )
    columns = {r["column_name"] for r in rows}
    assert {f.column for f in FIELDS} <= columns


async def test_text_limits_are_the_columns_lengths(db: asyncpg.Pool) -> None:
    rows = await db.fetch(
        """SELECT column_name, character_maximum_length FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = 'reservations'"""
    )
    lengths = {r["column_name"]: r["character_maximum_length"] for r in rows}
    for field in FIELDS:
        if field.limit is not None:
            assert lengths[field.column] == field.limit, field.column


def test_columns_and_beds24_fields_are_each_named_once() -> None:
    columns = [f.column for f in FIELDS]
    assert len(columns) == len(set(columns))
    synced = [f.beds24 for f in FIELDS if f.kind is not Kind.ID]
    assert len(synced) == len(set(synced))


def test_what_is_sent_and_what_is_written() -> None:
    assert {"arrival", "departure", "status", "guest_last_name", "price"} <= set(OUTBOUND_COLUMNS)
    inbound_only = {f.column for f in FIELDS if f.direction is Direction.INBOUND}
    assert not inbound_only & set(OUTBOUND_COLUMNS)
    assert {"channel", "channel_reference", "beds24_booking_id"} <= inbound_only
    assert "room_id" not in INBOUND_COLUMNS and "property_id" not in INBOUND_COLUMNS


def test_logs_and_the_console_hide_every_personal_field() -> None:
    from admin_api.console.masking import _personal

    assert PERSONAL_KEYS <= log_config._REDACTED_KEYS
    for field in FIELDS:
        assert _personal(field.column) is field.personal, field.column
        if field.personal:
            assert _personal(field.beds24), field.beds24
