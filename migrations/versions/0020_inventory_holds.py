"""Inventory holds: a room type (or room) held for dates while a guest books it.

`inventory_holds`: what is held (`room_type_id` or `room_id`, and the Beds24 room it counts
against, resolved when placed), the nights (`arrival`..`departure`), until when
(`expires_at`), for whom (`reference`, e.g. a booking engine's cart) and by whom
(`placed_by`); `status` held -> confirmed (with the reservation it became), released or
expired, each once. A hold counts against availability while `held` and not past
`expires_at` (`channel_sync.pms_availability.free_units`).

Capture: a hold placed, or leaving `held`, records an availability event for its Beds24 room
and nights through the same function as a reservation's change, so Beds24 sees the room go
and come back like any availability change (coalesced by the outbound worker).

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE inventory_holds (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        room_type_id UUID REFERENCES room_types(id) ON DELETE CASCADE,
        room_id UUID REFERENCES rooms(id) ON DELETE CASCADE,
        beds24_room_id VARCHAR(255) NOT NULL,
        arrival DATE NOT NULL,
        departure DATE NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        reference VARCHAR(200) NOT NULL,
        placed_by VARCHAR(200) NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'held'
            CHECK (status IN ('held', 'confirmed', 'released', 'expired')),
        reservation_id UUID REFERENCES reservations(id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        ended_at TIMESTAMPTZ,
        CHECK (room_type_id IS NOT NULL OR room_id IS NOT NULL),
        CHECK (arrival < departure),
        CHECK ((status = 'held') = (ended_at IS NULL)),
        CHECK (status <> 'confirmed' OR reservation_id IS NOT NULL)
    );
    -- Live holds by Beds24 room (availability) and by expiry (the reaper).
    CREATE INDEX idx_inventory_holds_live ON inventory_holds(property_id, beds24_room_id)
        WHERE status = 'held';
    CREATE INDEX idx_inventory_holds_expiry ON inventory_holds(expires_at)
        WHERE status = 'held';

    CREATE FUNCTION channel_sync_capture_hold() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        held_before boolean := TG_OP <> 'INSERT' AND OLD.status = 'held';
        held_now boolean := TG_OP <> 'DELETE' AND NEW.status = 'held';
        hold inventory_holds := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    BEGIN
        IF held_before = held_now OR NOT channel_sync_connected(hold.property_id) THEN
            RETURN NULL;
        END IF;
        PERFORM channel_sync_record_availability_change(
            hold.property_id, hold.beds24_room_id, hold.arrival, hold.departure - 1,
            hold.id);
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_hold
        AFTER INSERT OR DELETE OR UPDATE OF status ON inventory_holds
        FOR EACH ROW EXECUTE FUNCTION channel_sync_capture_hold();
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE inventory_holds;
    DROP FUNCTION channel_sync_capture_hold();
    """)
