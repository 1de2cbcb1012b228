"""`channel_sync_room_map` as two joins instead of a function call per room.

The view named each room's Beds24 room through `channel_sync_beds24_room()`, called once per
room: looking up the rooms of one Beds24 room (every placement of an inbound booking) ran it
for every room of the property, two index lookups each: about 1 ms for a 60-room hotel, the
largest share of applying a booking. The same answer as joins (each mapping is unique per
property, type and internal id, so each join finds at most one row) lets the planner read
the property's mappings once. Same columns, same rows.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE OR REPLACE VIEW channel_sync_room_map AS
    SELECT r.id AS room_id, r.property_id, r.is_active,
           COALESCE(own.external_id, by_type.external_id)::varchar AS beds24_room_id,
           own.external_unit_id AS beds24_unit_id
    FROM rooms r
    LEFT JOIN channel_mappings own
           ON own.property_id = r.property_id AND own.mapping_type = 'room'
          AND own.internal_id = r.id AND own.is_active IS NOT FALSE
    LEFT JOIN channel_mappings by_type
           ON by_type.property_id = r.property_id AND by_type.mapping_type = 'room_type'
          AND by_type.internal_id = r.room_type_id AND by_type.is_active IS NOT FALSE
    WHERE COALESCE(own.external_id, by_type.external_id) IS NOT NULL
    """)


def downgrade() -> None:
    op.execute("""
    CREATE OR REPLACE VIEW channel_sync_room_map AS
    SELECT r.id AS room_id, r.property_id, r.is_active,
           m.beds24_room_id,
           (SELECT external_unit_id FROM channel_mappings
            WHERE property_id = r.property_id AND mapping_type = 'room'
              AND internal_id = r.id AND is_active IS NOT FALSE) AS beds24_unit_id
    FROM rooms r
    CROSS JOIN LATERAL (
        SELECT channel_sync_beds24_room(r.property_id, r.id, r.room_type_id) AS beds24_room_id
    ) m
    WHERE m.beds24_room_id IS NOT NULL
    """)
