-- The capture trigger's function on `reservations`: one outbound booking event per PMS change
-- Beds24 must see, and availability events for the nights a change frees or takes.
--
-- The one home of this function. Its watch list (the OLD/NEW row compared below) is
-- channel_sync.pms_fields.OUTBOUND_COLUMNS: shared/tests/test_pms_fields.py fails if not.
-- Installed by migration 0023 (first by 0006); a change here needs a new migration that installs it again
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
    booking_event uuid;
BEGIN
    -- Rows written by a caller that records their availability itself, once per room for
    -- the whole statement (`channel_sync.pms_origin.capture_deferred`: Beds24's new
    -- bookings, inserted together, which are never echoed as bookings).
    IF current_setting('channel_sync.capture_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
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
           OLD.deposit, OLD.comments, OLD.notes, OLD.stay_id)
          IS NOT DISTINCT FROM
          (NEW.arrival, NEW.departure, NEW.room_id, NEW.status, NEW.property_id,
           NEW.guest_title, NEW.guest_first_name, NEW.guest_last_name, NEW.guest_email,
           NEW.guest_phone, NEW.guest_mobile, NEW.guest_address, NEW.guest_city,
           NEW.guest_postcode, NEW.guest_country, NEW.adults, NEW.children, NEW.price,
           NEW.deposit, NEW.comments, NEW.notes, NEW.stay_id) THEN
        RETURN NULL;  -- only bookkeeping columns changed (e.g. the stored Beds24 id)
    ELSIF NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
        event_type := 'pms.booking.cancel';
    ELSE
        event_type := 'pms.booking.update';
    END IF;

    IF event_type IS NULL THEN
        NULL;  -- from Beds24: no booking event
    ELSIF TG_OP = 'DELETE' AND OLD.beds24_qty_booking_id IS NOT NULL THEN
        -- Room 2..n of a roomQty booking: Beds24 has no booking of its own for it, only
        -- that booking's count, which the outbound worker sends from the rooms left.
        PERFORM channel_sync_record_qty_room_deleted(
            OLD.id, OLD.property_id, OLD.beds24_qty_booking_id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM channel_sync_record_booking_change(
            OLD.id, OLD.property_id, event_type, OLD.beds24_booking_id);
    ELSE
        booking_event := channel_sync_record_booking_change(
            NEW.id, NEW.property_id, event_type, NEW.beds24_booking_id);
        IF TG_OP = 'UPDATE' AND OLD.stay_id IS DISTINCT FROM NEW.stay_id THEN
            -- The desk moved the room to another stay (or out of one): Beds24 is sent the
            -- booking's new group (masterId) with it.
            UPDATE channel_events SET payload = payload || '{"stay_changed": true}'::jsonb
            WHERE id = booking_event;
        END IF;
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
