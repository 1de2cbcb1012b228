"""Outbound capture: PMS changes write their outbound channel_events in the same transaction.

Triggers on `reservations`, `rooms` and `channel_mappings` record one outbound event per
changed row, so changes made by any program or by plain SQL are captured, and a rolled-back
change leaves none. They skip:
- transactions marked as applying Beds24's own changes (`channel_sync.origin` = 'beds24',
  see channel_sync.pms_origin), so inbound writes are not echoed back;
- properties with no Beds24 connection (no `beds24_properties` row).

The SQL functions `channel_sync_record_booking_change` and
`channel_sync_record_availability_change` are the single place that writes these events;
`channel_sync.pms_changes` calls them for changes the triggers cannot see.

Also added: `channel_sync_room_map` (the Beds24 room and unit of each PMS room),
`channel_sync_occupies(status)` (which reservations take a room), and
`beds24_pending_creates` (creates sent to Beds24 whose outcome is not stored yet).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# The reservation trigger as this migration installed it (0006 restores it on downgrade).
CAPTURE_RESERVATION = """
    CREATE FUNCTION channel_sync_capture_reservation() RETURNS trigger
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
        IF channel_sync_from_beds24() OR NOT channel_sync_connected(row_property) THEN
            RETURN NULL;
        END IF;

        IF TG_OP = 'INSERT' THEN
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

        IF TG_OP = 'DELETE' THEN
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
    END $$;
"""

_BEFORE = """
    -- Makes every outbound idempotency key unique per change.
    CREATE SEQUENCE channel_sync_outbound_seq;

    -- Which reservations take a room (and so lower availability): as in Beds24, where an
    -- inquiry or a cancelled booking holds no unit.
    CREATE FUNCTION channel_sync_occupies(p_status varchar) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$
        SELECT p_status IN ('confirmed', 'tentative', 'blocked')
    $$;

    -- The Beds24 room a PMS room is a unit of: its own 'room' mapping, else its type's.
    CREATE FUNCTION channel_sync_beds24_room(p_property uuid, p_room uuid, p_room_type uuid)
        RETURNS varchar LANGUAGE sql STABLE AS $$
        SELECT COALESCE(
            (SELECT external_id FROM channel_mappings
             WHERE property_id = p_property AND mapping_type = 'room'
               AND internal_id = p_room AND is_active IS NOT FALSE),
            (SELECT external_id FROM channel_mappings
             WHERE property_id = p_property AND mapping_type = 'room_type'
               AND internal_id = p_room_type AND is_active IS NOT FALSE))
    $$;

    CREATE VIEW channel_sync_room_map AS
    SELECT r.id AS room_id, r.property_id, r.is_active,
           m.beds24_room_id,
           (SELECT external_unit_id FROM channel_mappings
            WHERE property_id = r.property_id AND mapping_type = 'room'
              AND internal_id = r.id AND is_active IS NOT FALSE) AS beds24_unit_id
    FROM rooms r
    CROSS JOIN LATERAL (
        SELECT channel_sync_beds24_room(r.property_id, r.id, r.room_type_id) AS beds24_room_id
    ) m
    WHERE m.beds24_room_id IS NOT NULL;

    -- Connected to Beds24, and not being deleted (a cascade from hotel_settings must not
    -- insert events pointing at the vanishing property).
    CREATE FUNCTION channel_sync_connected(p_property uuid) RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM beds24_properties b JOIN hotel_settings h
                         ON h.id = b.property_id
                       WHERE b.property_id = p_property)
    $$;

    CREATE FUNCTION channel_sync_from_beds24() RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT current_setting('channel_sync.origin', true) IS NOT DISTINCT FROM 'beds24'
    $$;

    CREATE FUNCTION channel_sync_record_booking_change(
        p_reservation uuid, p_property uuid, p_event_type varchar,
        p_beds24_booking_id bigint, p_correlation_id varchar DEFAULT NULL
    ) RETURNS uuid LANGUAGE sql VOLATILE AS $$
        INSERT INTO channel_events (property_id, direction, event_type, entity_type,
            entity_external_id, entity_internal_id, idempotency_key, payload, correlation_id)
        VALUES (p_property, 'outbound', p_event_type, 'booking',
            p_beds24_booking_id::text, p_reservation,
            'pms:booking:' || p_reservation || ':' || nextval('channel_sync_outbound_seq'),
            jsonb_build_object('reservation_id', p_reservation,
                               'beds24_booking_id', p_beds24_booking_id),
            p_correlation_id)
        RETURNING id
    $$;

    -- `p_to` is the last night (inclusive); NULL means up to the worker's horizon.
    CREATE FUNCTION channel_sync_record_availability_change(
        p_property uuid, p_beds24_room varchar, p_from date, p_to date,
        p_source_id uuid, p_correlation_id varchar DEFAULT NULL
    ) RETURNS uuid LANGUAGE sql VOLATILE AS $$
        INSERT INTO channel_events (property_id, direction, event_type, entity_type,
            entity_external_id, entity_internal_id, idempotency_key, payload, correlation_id)
        VALUES (p_property, 'outbound', 'pms.availability.update', 'availability',
            p_beds24_room, p_source_id,
            'pms:availability:' || p_beds24_room || ':' || nextval('channel_sync_outbound_seq'),
            jsonb_build_object('beds24_room_id', p_beds24_room, 'from', p_from, 'to', p_to),
            p_correlation_id)
        RETURNING id
    $$;

"""

_AFTER = """

    CREATE TRIGGER channel_sync_capture_reservation
        AFTER INSERT OR UPDATE OR DELETE ON reservations
        FOR EACH ROW EXECUTE FUNCTION channel_sync_capture_reservation();

    -- A room joining or leaving a Beds24 room changes that room's availability from today.
    CREATE FUNCTION channel_sync_capture_room() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        old_room varchar;
        new_room varchar;
    BEGIN
        IF channel_sync_from_beds24() THEN
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' AND OLD.is_active THEN
            old_room := channel_sync_beds24_room(OLD.property_id, OLD.id, OLD.room_type_id);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.is_active THEN
            new_room := channel_sync_beds24_room(NEW.property_id, NEW.id, NEW.room_type_id);
        END IF;
        IF old_room IS NOT DISTINCT FROM new_room THEN
            RETURN NULL;
        END IF;
        IF old_room IS NOT NULL AND channel_sync_connected(OLD.property_id) THEN
            PERFORM channel_sync_record_availability_change(
                OLD.property_id, old_room, current_date, NULL, OLD.id);
        END IF;
        IF new_room IS NOT NULL AND channel_sync_connected(NEW.property_id) THEN
            PERFORM channel_sync_record_availability_change(
                NEW.property_id, new_room, current_date, NULL, NEW.id);
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_room
        AFTER INSERT OR DELETE OR UPDATE OF room_type_id, is_active, property_id ON rooms
        FOR EACH ROW EXECUTE FUNCTION channel_sync_capture_room();

    CREATE FUNCTION channel_sync_capture_mapping() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        old_room varchar;
        new_room varchar;
    BEGIN
        IF channel_sync_from_beds24() THEN
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' AND OLD.is_active IS NOT FALSE THEN
            old_room := OLD.external_id;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.is_active IS NOT FALSE THEN
            new_room := NEW.external_id;
        END IF;
        IF TG_OP = 'UPDATE' AND old_room IS NOT DISTINCT FROM new_room
           AND OLD.internal_id = NEW.internal_id AND OLD.mapping_type = NEW.mapping_type THEN
            RETURN NULL;  -- e.g. only the unit id changed: the room's unit count did not
        END IF;
        IF old_room IS NOT NULL AND channel_sync_connected(OLD.property_id) THEN
            PERFORM channel_sync_record_availability_change(
                OLD.property_id, old_room, current_date, NULL, OLD.internal_id);
        END IF;
        IF new_room IS NOT NULL AND new_room IS DISTINCT FROM old_room
           AND channel_sync_connected(NEW.property_id) THEN
            PERFORM channel_sync_record_availability_change(
                NEW.property_id, new_room, current_date, NULL, NEW.internal_id);
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_mapping
        AFTER INSERT OR UPDATE OR DELETE ON channel_mappings
        FOR EACH ROW EXECUTE FUNCTION channel_sync_capture_mapping();

    -- A create sent to Beds24 whose answer is not stored yet: before sending it again, the
    -- worker searches Beds24 for `api_reference` (Beds24 honours no idempotency key).
    CREATE TABLE beds24_pending_creates (
        reservation_id UUID PRIMARY KEY,
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        api_reference VARCHAR(100) NOT NULL,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
"""


def upgrade() -> None:
    op.execute(_BEFORE + CAPTURE_RESERVATION + _AFTER)


def downgrade() -> None:
    op.execute("""
    DROP TABLE beds24_pending_creates;
    DROP TRIGGER channel_sync_capture_mapping ON channel_mappings;
    DROP TRIGGER channel_sync_capture_room ON rooms;
    DROP TRIGGER channel_sync_capture_reservation ON reservations;
    DROP FUNCTION channel_sync_capture_mapping();
    DROP FUNCTION channel_sync_capture_room();
    DROP FUNCTION channel_sync_capture_reservation();
    DROP FUNCTION channel_sync_record_availability_change(uuid, varchar, date, date, uuid,
                                                          varchar);
    DROP FUNCTION channel_sync_record_booking_change(uuid, uuid, varchar, bigint, varchar);
    DROP FUNCTION channel_sync_from_beds24();
    DROP FUNCTION channel_sync_connected(uuid);
    DROP VIEW channel_sync_room_map;
    DROP FUNCTION channel_sync_beds24_room(uuid, uuid, uuid);
    DROP FUNCTION channel_sync_occupies(varchar);
    DROP SEQUENCE channel_sync_outbound_seq;
    """)
