"""A room deleted in the PMS from a Beds24 booking with `roomQty` > 1 lowers its count there.

Rooms 2..n of such a booking are reservations without a Beds24 booking of their own
(`beds24_qty_booking_id` names the booking). 0006's trigger recorded their deletion with no
Beds24 id, so the outbound worker had nothing to send and Beds24 kept selling one room fewer
until another room of the booking changed. The deletion's event now names the booking
(payload `beds24_qty_booking_id`), and the worker sends its count of rooms still held
(cancelled when none is left), as it does for a room cancelled in the PMS.

The function's text lives in channel_sync/sql/capture_reservation.sql (its one home);
`_INSTALLED_BY_0006` is the text it replaces, for the downgrade.

Revision ID: 0013
Revises: 0012
"""

from alembic import op
from channel_sync.pms_fields import capture_reservation_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The capture_reservation.sql this migration was written for (see 0006).
CAPTURE_RESERVATION_SHA256 = "25b41433cbd995e3635f3f8a9f0a71a45defe4c2d3aaa93b20864f3c4112ff10"

_RECORD_QTY_ROOM_DELETED = """
    CREATE FUNCTION channel_sync_record_qty_room_deleted(
        p_reservation uuid, p_property uuid, p_qty_booking_id bigint
    ) RETURNS uuid LANGUAGE sql VOLATILE AS $$
        INSERT INTO channel_events (property_id, direction, event_type, entity_type,
            entity_external_id, entity_internal_id, idempotency_key, payload)
        VALUES (p_property, 'outbound', 'pms.booking.cancel', 'booking',
            p_qty_booking_id::text, p_reservation,
            'pms:booking:' || p_reservation || ':' || nextval('channel_sync_outbound_seq'),
            jsonb_build_object('reservation_id', p_reservation, 'beds24_booking_id', NULL,
                               'beds24_qty_booking_id', p_qty_booking_id))
        RETURNING id
    $$;
"""


def upgrade() -> None:
    op.execute(_RECORD_QTY_ROOM_DELETED)
    op.execute(capture_reservation_sql())


def downgrade() -> None:
    op.execute(_INSTALLED_BY_0006)
    op.execute("DROP FUNCTION channel_sync_record_qty_room_deleted(uuid, uuid, bigint)")


_INSTALLED_BY_0006 = r"""-- The capture trigger's function on `reservations`: one outbound booking event per PMS change
-- Beds24 must see, and availability events for the nights a change frees or takes.
--
-- The one home of this function. Its watch list (the OLD/NEW row compared below) is
-- channel_sync.pms_fields.OUTBOUND_COLUMNS: shared/tests/test_pms_fields.py fails if not.
-- Installed by migration 0006; a change here needs a new migration that installs it again
-- (op.execute(capture_reservation_sql())), names the file's new CAPTURE_RESERVATION_SHA256
-- and keeps the text it replaces for its downgrade (a test checks the digest).
CREATE OR REPLACE FUNCTION channel_sync_capture_reservation() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    row_property uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.property_id
                              ELSE NEW.property_id END;
    event_type varchar;
    old_room varchar;
    new_room varchar;
    old_counts boolean := false;
    new_counts boolean := false;
BEGIN
    IF NOT channel_sync_connected(row_property) THEN
        RETURN NULL;
    END IF;

    -- A change applied from Beds24 is not sent back as a booking (no echo), but the
    -- nights it frees or takes still change what the PMS has to offer.
    IF channel_sync_from_beds24() THEN
        NULL;
    ELSIF TG_OP = 'INSERT' THEN
        event_type := CASE WHEN NEW.status = 'cancelled' THEN 'pms.booking.cancel'
                           WHEN NEW.beds24_booking_id IS NULL THEN 'pms.booking.create'
                           ELSE 'pms.booking.update' END;
    ELSIF TG_OP = 'DELETE' THEN
        event_type := 'pms.booking.cancel';
    ELSIF (OLD.arrival, OLD.departure, OLD.room_id, OLD.status, OLD.property_id,
           OLD.guest_title, OLD.guest_first_name, OLD.guest_last_name, OLD.guest_email,
           OLD.guest_phone, OLD.guest_mobile, OLD.guest_address, OLD.guest_city,
           OLD.guest_postcode, OLD.guest_country, OLD.adults, OLD.children, OLD.price,
           OLD.deposit, OLD.comments, OLD.notes)
          IS NOT DISTINCT FROM
          (NEW.arrival, NEW.departure, NEW.room_id, NEW.status, NEW.property_id,
           NEW.guest_title, NEW.guest_first_name, NEW.guest_last_name, NEW.guest_email,
           NEW.guest_phone, NEW.guest_mobile, NEW.guest_address, NEW.guest_city,
           NEW.guest_postcode, NEW.guest_country, NEW.adults, NEW.children, NEW.price,
           NEW.deposit, NEW.comments, NEW.notes) THEN
        RETURN NULL;  -- only bookkeeping columns changed (e.g. the stored Beds24 id)
    ELSIF NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
        event_type := 'pms.booking.cancel';
    ELSE
        event_type := 'pms.booking.update';
    END IF;

    IF event_type IS NULL THEN
        NULL;  -- from Beds24: no booking event
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM channel_sync_record_booking_change(
            OLD.id, OLD.property_id, event_type, OLD.beds24_booking_id);
    ELSE
        PERFORM channel_sync_record_booking_change(
            NEW.id, NEW.property_id, event_type, NEW.beds24_booking_id);
    END IF;

    -- Availability: the nights a reservation takes, before and after the change.
    IF TG_OP <> 'INSERT' AND channel_sync_occupies(OLD.status) AND OLD.room_id IS NOT NULL
    THEN
        old_room := (SELECT beds24_room_id FROM channel_sync_room_map
                     WHERE room_id = OLD.room_id);
        old_counts := old_room IS NOT NULL;
    END IF;
    IF TG_OP <> 'DELETE' AND channel_sync_occupies(NEW.status) AND NEW.room_id IS NOT NULL
    THEN
        new_room := (SELECT beds24_room_id FROM channel_sync_room_map
                     WHERE room_id = NEW.room_id);
        new_counts := new_room IS NOT NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND old_counts AND new_counts AND old_room = new_room
       AND OLD.arrival = NEW.arrival AND OLD.departure = NEW.departure THEN
        RETURN NULL;  -- same nights in the same Beds24 room: availability unchanged
    END IF;
    IF old_counts AND new_counts AND old_room = new_room
       AND OLD.arrival <= NEW.departure AND NEW.arrival <= OLD.departure THEN
        PERFORM channel_sync_record_availability_change(
            NEW.property_id, new_room, LEAST(OLD.arrival, NEW.arrival),
            GREATEST(OLD.departure, NEW.departure) - 1, NEW.id);
        RETURN NULL;
    END IF;
    IF old_counts THEN
        PERFORM channel_sync_record_availability_change(
            OLD.property_id, old_room, OLD.arrival, OLD.departure - 1, OLD.id);
    END IF;
    IF new_counts THEN
        PERFORM channel_sync_record_availability_change(
            NEW.property_id, new_room, NEW.arrival, NEW.departure - 1, NEW.id);
    END IF;
    RETURN NULL;
END $$;"""
