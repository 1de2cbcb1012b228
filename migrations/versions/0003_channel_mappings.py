"""channel_mappings: PMS ↔ Beds24 ids (docs/design.md#data-model), filled from rooms.beds24_room_id.

A 'room' mapping says a PMS room is one unit of a Beds24 room (external_id = Beds24 roomId,
external_unit_id = Beds24 unitId when known); a 'room_type' mapping says every room of a PMS
room type is a unit of that Beds24 room.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE channel_mappings (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        mapping_type VARCHAR(50) NOT NULL CHECK (mapping_type IN ('room', 'room_type')),
        internal_id UUID NOT NULL,
        external_id VARCHAR(255) NOT NULL,
        is_active BOOLEAN DEFAULT true,
        created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
        external_unit_id VARCHAR(255),
        UNIQUE(property_id, mapping_type, internal_id)
    );

    CREATE INDEX idx_channel_mappings_lookup
        ON channel_mappings(mapping_type, internal_id, is_active);
    CREATE INDEX idx_channel_mappings_external
        ON channel_mappings(property_id, external_id) WHERE is_active;

    INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
    SELECT property_id, 'room', id, beds24_room_id
    FROM rooms
    WHERE beds24_room_id IS NOT NULL AND beds24_room_id <> ''
    ON CONFLICT (property_id, mapping_type, internal_id) DO NOTHING;
    """)


def downgrade() -> None:
    # rooms.beds24_room_id still holds what the up step copied; write back later edits first.
    op.execute("""
    UPDATE rooms r SET beds24_room_id = m.external_id
    FROM channel_mappings m
    WHERE m.mapping_type = 'room' AND m.internal_id = r.id AND m.is_active;
    DROP TABLE channel_mappings;
    """)
