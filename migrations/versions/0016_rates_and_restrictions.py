"""Rates and restrictions (ARI): the PMS's prices and selling rules, sent to Beds24's calendar.

- `rate_plans`: a property's rate plans (BAR, non-refundable, ...), each mapped to one of
  Beds24's price slots through `channel_mappings` (`mapping_type` 'rate_plan', `external_id`
  'price1'..'price16'; one rate plan per slot).
- `room_rates`: a price per rate plan, room type and night.
- `room_restrictions`: per room type and night: min stay, max stay, closed to arrival,
  closed to departure, stop-sell.

Capture: statement-level triggers record, per Beds24 room of the room type, ONE calendar
event for the span of nights a statement touched (a 365-night price load is one event per
room, not 365). The outbound worker sends the room's CURRENT calendar for those nights
(availability, prices, restrictions together: state transfer), so an extra event is harmless.
A room type with no Beds24 room still gets an event (without a room), which the worker fails
permanently naming what to map: a price nobody sends must not be silent. Mapping a rate plan
(or changing its slot, or its `is_active`) sends the property's whole calendar from today.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_MAPPING_BEFORE = """
    CREATE OR REPLACE FUNCTION channel_sync_capture_mapping() RETURNS trigger
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
"""

_MAPPING_AFTER = """
    CREATE OR REPLACE FUNCTION channel_sync_capture_mapping() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        old_room varchar;
        new_room varchar;
        row_property uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.property_id
                                  ELSE NEW.property_id END;
    BEGIN
        IF channel_sync_from_beds24() THEN
            RETURN NULL;
        END IF;
        IF (TG_OP <> 'INSERT' AND OLD.mapping_type = 'rate_plan')
           OR (TG_OP <> 'DELETE' AND NEW.mapping_type = 'rate_plan') THEN
            -- A price slot gained, lost or moved: every room's prices from today.
            PERFORM channel_sync_record_property_calendar(row_property, 'pms.rates.update');
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
"""


def upgrade() -> None:
    op.execute("""
    CREATE TABLE rate_plans (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        code VARCHAR(50) NOT NULL,
        name TEXT NOT NULL,
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (property_id, code)
    );

    CREATE TABLE room_rates (
        rate_plan_id UUID NOT NULL REFERENCES rate_plans(id) ON DELETE CASCADE,
        room_type_id UUID NOT NULL REFERENCES room_types(id) ON DELETE CASCADE,
        night DATE NOT NULL,
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        price NUMERIC(12, 2) NOT NULL CHECK (price >= 0),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (rate_plan_id, room_type_id, night)
    );
    CREATE INDEX idx_room_rates_room_type_night ON room_rates(room_type_id, night);

    CREATE TABLE room_restrictions (
        room_type_id UUID NOT NULL REFERENCES room_types(id) ON DELETE CASCADE,
        night DATE NOT NULL,
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        min_stay SMALLINT CHECK (min_stay BETWEEN 1 AND 365),
        max_stay SMALLINT CHECK (max_stay BETWEEN 1 AND 364),
        closed_to_arrival BOOLEAN NOT NULL DEFAULT false,
        closed_to_departure BOOLEAN NOT NULL DEFAULT false,
        stop_sell BOOLEAN NOT NULL DEFAULT false,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (room_type_id, night),
        CHECK (min_stay IS NULL OR max_stay IS NULL OR min_stay <= max_stay)
    );

    ALTER TABLE channel_mappings DROP CONSTRAINT channel_mappings_mapping_type_check;
    ALTER TABLE channel_mappings ADD CONSTRAINT channel_mappings_mapping_type_check
        CHECK (mapping_type IN ('room', 'room_type', 'rate_plan'));
    ALTER TABLE channel_mappings ADD CONSTRAINT channel_mappings_price_slot_check
        CHECK (mapping_type <> 'rate_plan' OR external_id ~ '^price([1-9]|1[0-6])$');
    -- One rate plan per price slot: two would overwrite each other's prices.
    CREATE UNIQUE INDEX idx_channel_mappings_one_plan_per_slot
        ON channel_mappings(property_id, external_id)
        WHERE mapping_type = 'rate_plan' AND is_active IS NOT FALSE;

    -- One calendar event per Beds24 room of a room type, for nights p_from..p_to; a room
    -- type with no Beds24 room gets one event without a room (the worker names the fix).
    CREATE FUNCTION channel_sync_record_calendar_change(
        p_event_type varchar, p_property uuid, p_room_type uuid, p_from date, p_to date,
        p_detail jsonb
    ) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        beds24_room varchar;
        found boolean := false;
    BEGIN
        IF NOT channel_sync_connected(p_property) THEN
            RETURN;
        END IF;
        FOR beds24_room IN
            SELECT DISTINCT m.beds24_room_id FROM channel_sync_room_map m
            JOIN rooms r ON r.id = m.room_id
            WHERE r.room_type_id = p_room_type AND m.is_active
        LOOP
            found := true;
            INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                entity_external_id, entity_internal_id, idempotency_key, payload)
            VALUES (p_property, 'outbound', p_event_type, 'availability', beds24_room,
                p_room_type,
                'pms:calendar:' || beds24_room || ':' || nextval('channel_sync_outbound_seq'),
                jsonb_build_object('beds24_room_id', beds24_room, 'from', p_from, 'to', p_to,
                                   'room_type_id', p_room_type) || p_detail);
        END LOOP;
        IF NOT found THEN
            INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                entity_external_id, entity_internal_id, idempotency_key, payload)
            VALUES (p_property, 'outbound', p_event_type, 'availability', NULL, p_room_type,
                'pms:calendar:unmapped:' || nextval('channel_sync_outbound_seq'),
                jsonb_build_object('beds24_room_id', NULL, 'from', p_from, 'to', p_to,
                                   'room_type_id', p_room_type,
                                   'room_type', (SELECT name FROM room_types
                                                 WHERE id = p_room_type)) || p_detail);
        END IF;
    END $$;

    -- Every Beds24 room of a property, from today to the worker's horizon.
    CREATE FUNCTION channel_sync_record_property_calendar(p_property uuid, p_event_type varchar)
        RETURNS void LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        beds24_room varchar;
    BEGIN
        IF NOT channel_sync_connected(p_property) THEN
            RETURN;
        END IF;
        FOR beds24_room IN
            SELECT DISTINCT beds24_room_id FROM channel_sync_room_map
            WHERE property_id = p_property AND is_active
        LOOP
            INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                entity_external_id, idempotency_key, payload)
            VALUES (p_property, 'outbound', p_event_type, 'availability', beds24_room,
                'pms:calendar:' || beds24_room || ':' || nextval('channel_sync_outbound_seq'),
                jsonb_build_object('beds24_room_id', beds24_room, 'from', current_date,
                                   'to', NULL));
        END LOOP;
    END $$;

    CREATE FUNCTION channel_sync_capture_rates() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        IF channel_sync_from_beds24() THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            PERFORM channel_sync_record_calendar_change('pms.rates.update', c.property_id,
                c.room_type_id, c.first, c.last,
                jsonb_build_object('rate_plan_id', c.rate_plan_id))
            FROM (SELECT property_id, room_type_id, rate_plan_id, min(night) AS first,
                         max(night) AS last
                  FROM new_rows GROUP BY 1, 2, 3) c;
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM channel_sync_record_calendar_change('pms.rates.update', c.property_id,
                c.room_type_id, c.first, c.last,
                jsonb_build_object('rate_plan_id', c.rate_plan_id))
            FROM (SELECT property_id, room_type_id, rate_plan_id, min(night) AS first,
                         max(night) AS last
                  FROM old_rows GROUP BY 1, 2, 3) c;
        ELSE
            PERFORM channel_sync_record_calendar_change('pms.rates.update', c.property_id,
                c.room_type_id, c.first, c.last,
                jsonb_build_object('rate_plan_id', c.rate_plan_id))
            FROM (SELECT property_id, room_type_id, rate_plan_id, min(night) AS first,
                         max(night) AS last
                  FROM (SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows) changed
                  GROUP BY 1, 2, 3) c;
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_rates_insert AFTER INSERT ON room_rates
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_rates();
    CREATE TRIGGER channel_sync_capture_rates_update AFTER UPDATE ON room_rates
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_rates();
    CREATE TRIGGER channel_sync_capture_rates_delete AFTER DELETE ON room_rates
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_rates();

    CREATE FUNCTION channel_sync_capture_restrictions() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        IF channel_sync_from_beds24() THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            PERFORM channel_sync_record_calendar_change('pms.restrictions.update',
                c.property_id, c.room_type_id, c.first, c.last, '{}'::jsonb)
            FROM (SELECT property_id, room_type_id, min(night) AS first, max(night) AS last
                  FROM new_rows GROUP BY 1, 2) c;
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM channel_sync_record_calendar_change('pms.restrictions.update',
                c.property_id, c.room_type_id, c.first, c.last, '{}'::jsonb)
            FROM (SELECT property_id, room_type_id, min(night) AS first, max(night) AS last
                  FROM old_rows GROUP BY 1, 2) c;
        ELSE
            PERFORM channel_sync_record_calendar_change('pms.restrictions.update',
                c.property_id, c.room_type_id, c.first, c.last, '{}'::jsonb)
            FROM (SELECT property_id, room_type_id, min(night) AS first, max(night) AS last
                  FROM (SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows) changed
                  GROUP BY 1, 2) c;
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_restrictions_insert AFTER INSERT ON room_restrictions
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_restrictions();
    CREATE TRIGGER channel_sync_capture_restrictions_update AFTER UPDATE ON room_restrictions
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_restrictions();
    CREATE TRIGGER channel_sync_capture_restrictions_delete AFTER DELETE ON room_restrictions
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION channel_sync_capture_restrictions();

    -- A mapped rate plan switched on or off: its slot's prices from today.
    CREATE FUNCTION channel_sync_capture_rate_plan() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        IF channel_sync_from_beds24() OR OLD.is_active IS NOT DISTINCT FROM NEW.is_active THEN
            RETURN NULL;
        END IF;
        IF EXISTS (SELECT 1 FROM channel_mappings WHERE mapping_type = 'rate_plan'
                   AND internal_id = NEW.id AND is_active IS NOT FALSE) THEN
            PERFORM channel_sync_record_property_calendar(NEW.property_id, 'pms.rates.update');
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER channel_sync_capture_rate_plan AFTER UPDATE OF is_active ON rate_plans
        FOR EACH ROW EXECUTE FUNCTION channel_sync_capture_rate_plan();
    """)
    op.execute(_MAPPING_AFTER)


def downgrade() -> None:
    op.execute(_MAPPING_BEFORE)
    op.execute("""
    DROP TABLE room_restrictions;
    DROP TABLE room_rates;
    DELETE FROM channel_mappings WHERE mapping_type = 'rate_plan';
    DROP TABLE rate_plans;
    DROP FUNCTION channel_sync_capture_rate_plan();
    DROP FUNCTION channel_sync_capture_restrictions();
    DROP FUNCTION channel_sync_capture_rates();
    DROP FUNCTION channel_sync_record_property_calendar(uuid, varchar);
    DROP FUNCTION channel_sync_record_calendar_change(varchar, uuid, uuid, date, date, jsonb);
    DROP INDEX idx_channel_mappings_one_plan_per_slot;
    ALTER TABLE channel_mappings DROP CONSTRAINT channel_mappings_price_slot_check;
    ALTER TABLE channel_mappings DROP CONSTRAINT channel_mappings_mapping_type_check;
    ALTER TABLE channel_mappings ADD CONSTRAINT channel_mappings_mapping_type_check
        CHECK (mapping_type IN ('room', 'room_type'));
    """)
