"""channel_mappings of one property, with the PMS rooms, room types and rate plans they
point at.

Replacing upserts the given mappings and deletes the others of the kinds replaced, so an
unchanged mapping is not touched (the outbound capture trigger then records no availability
push for it).
"""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection

from admin_api.schemas.properties import Mapping, MappingOut

_OWNED = {
    "room": "SELECT id FROM rooms WHERE property_id = $1 AND id = ANY($2::uuid[])",
    "room_type": "SELECT id FROM room_types WHERE property_id = $1 AND id = ANY($2::uuid[])",
    "rate_plan": "SELECT id FROM rate_plans WHERE property_id = $1 AND id = ANY($2::uuid[])",
}
ROOM_KINDS = ("room", "room_type")
RATE_PLAN = "rate_plan"


async def list_for(conn: Connection, property_id: UUID) -> list[MappingOut]:
    records = await conn.fetch(
        """SELECT m.mapping_type, m.internal_id,
                  COALESCE(r.name, t.name, CASE WHEN p.name = p.code THEN p.code
                                                ELSE p.code || ' (' || p.name || ')' END)
                      AS internal_name,
                  m.external_id, m.external_unit_id, m.is_active
           FROM channel_mappings m
           LEFT JOIN rooms r ON m.mapping_type = 'room' AND r.id = m.internal_id
           LEFT JOIN room_types t ON m.mapping_type = 'room_type' AND t.id = m.internal_id
           LEFT JOIN rate_plans p ON m.mapping_type = 'rate_plan' AND p.id = m.internal_id
               AND p.property_id = m.property_id
           WHERE m.property_id = $1
           ORDER BY m.mapping_type = 'rate_plan', m.mapping_type, internal_name, m.internal_id""",
        property_id,
    )
    return [MappingOut.model_validate(dict(r)) for r in records]


async def not_of_property(
    conn: Connection, property_id: UUID, mapping_type: str, ids: list[UUID]
) -> list[UUID]:
    """Those of `ids` that are not rooms (room types, rate plans) of this property."""
    found = await conn.fetch(_OWNED[mapping_type], property_id, ids)
    owned = {r["id"] for r in found}
    return [i for i in ids if i not in owned]


async def replace(
    conn: Connection, property_id: UUID, mappings: list[Mapping], kinds: tuple[str, ...]
) -> None:
    """The property's mappings of `kinds` become `mappings` (all of those kinds); the
    others are left alone. A rate plan moving to another slot is deleted first, so that
    plans swapping slots never hold one slot twice on the way (one plan per slot is a
    unique index)."""
    await conn.execute(
        """DELETE FROM channel_mappings m
           WHERE m.property_id = $1 AND m.mapping_type = ANY($4::varchar[])
             AND ((m.mapping_type, m.internal_id) NOT IN (
                      SELECT * FROM unnest($2::varchar[], $3::uuid[]))
                  OR (m.mapping_type = 'rate_plan' AND (m.internal_id, m.external_id) NOT IN (
                      SELECT * FROM unnest($3::uuid[], $5::varchar[]))))""",
        property_id,
        [m.mapping_type for m in mappings],
        [m.internal_id for m in mappings],
        list(kinds),
        [m.external_id for m in mappings],
    )
    await conn.executemany(
        """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id,
               external_unit_id, is_active)
           VALUES ($1, $2, $3, $4, $5, true)
           ON CONFLICT (property_id, mapping_type, internal_id) DO UPDATE
           SET external_id = EXCLUDED.external_id,
               external_unit_id = EXCLUDED.external_unit_id, is_active = true
           WHERE (channel_mappings.external_id, channel_mappings.external_unit_id,
                  channel_mappings.is_active)
                 IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.external_unit_id, true)""",
        [
            (property_id, m.mapping_type, m.internal_id, m.external_id, m.external_unit_id)
            for m in mappings
            if m.mapping_type in kinds
        ],
    )


async def mappable(conn: Connection, property_id: UUID) -> list[tuple[str, UUID, str]]:
    """The property's room types and rooms, as (mapping_type, id, name), types first."""
    records = await conn.fetch(
        """SELECT 'room_type' AS kind, id, name FROM room_types WHERE property_id = $1
           UNION ALL
           SELECT 'room', id, name FROM rooms WHERE property_id = $1
           ORDER BY kind DESC, name, id""",
        property_id,
    )
    return [(r["kind"], r["id"], r["name"]) for r in records]


async def rate_plans(conn: Connection, property_id: UUID) -> list[tuple[UUID, str, str, bool]]:
    """The property's rate plans, as (id, code, name, is_active), by code."""
    records = await conn.fetch(
        "SELECT id, code, name, is_active FROM rate_plans WHERE property_id = $1 ORDER BY code, id",
        property_id,
    )
    return [(r["id"], r["code"], r["name"], r["is_active"]) for r in records]
