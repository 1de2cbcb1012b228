"""Multi-room stays: `stays` groups reservations, and a Beds24 booking with `roomQty` > 1
holds one reservation per room.

- `stays`: one guest's stay of several rooms, held together both ways. From Beds24 it is a
  booking group (its key is the group's master booking, `beds24_master_id`) or one booking
  with `roomQty` > 1 (keyed by that booking's own id); from the PMS, the front desk makes it
  and the outbound worker creates its rooms in Beds24 as one group, then stores the master.
  `beds24_group_ids`: the members Beds24 last listed (`bookingGroup.ids`), so a member not
  received yet shows as missing.
- `reservations.stay_id`: the stay a reservation (one room) belongs to.
- `reservations.beds24_qty_booking_id`, `beds24_qty_index`: the extra rooms of a booking with
  `roomQty` > 1. Its first room is the reservation with that `beds24_booking_id` (room 1);
  rooms 2..roomQty are reservations carrying the booking's id here (and no
  `beds24_booking_id`, which stays unique), each placed in its own PMS room.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE stays (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        beds24_master_id BIGINT,
        beds24_group_ids BIGINT[] NOT NULL DEFAULT '{}',
        channel_reference VARCHAR(100),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX idx_stays_beds24_master
        ON stays(property_id, beds24_master_id) WHERE beds24_master_id IS NOT NULL;
    CREATE INDEX idx_stays_property ON stays(property_id, created_at);

    ALTER TABLE reservations
        ADD COLUMN stay_id UUID REFERENCES stays(id) ON DELETE SET NULL,
        ADD COLUMN beds24_qty_booking_id BIGINT,
        ADD COLUMN beds24_qty_index SMALLINT,
        ADD CONSTRAINT reservations_qty_room CHECK (
            (beds24_qty_booking_id IS NULL) = (beds24_qty_index IS NULL)
            AND (beds24_qty_index IS NULL OR beds24_qty_index >= 2)
            AND (beds24_qty_booking_id IS NULL OR beds24_booking_id IS NULL));
    CREATE INDEX idx_reservations_stay ON reservations(stay_id) WHERE stay_id IS NOT NULL;
    CREATE UNIQUE INDEX idx_reservations_beds24_qty_room
        ON reservations(beds24_qty_booking_id, beds24_qty_index)
        WHERE beds24_qty_booking_id IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX idx_reservations_beds24_qty_room;
    DROP INDEX idx_reservations_stay;
    ALTER TABLE reservations
        DROP CONSTRAINT reservations_qty_room,
        DROP COLUMN beds24_qty_index,
        DROP COLUMN beds24_qty_booking_id,
        DROP COLUMN stay_id;
    DROP TABLE stays;
    """)
