"""PMS tables the integration reads and writes, and per-property Beds24 configuration.

Created only if absent, so the integration can sit on an existing PMS database.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE EXTENSION IF NOT EXISTS pgcrypto;

    CREATE TABLE IF NOT EXISTS hotel_settings (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS room_types (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS rooms (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        room_type_id UUID REFERENCES room_types(id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        -- Beds24 room (type) id this PMS room is one unit of; superseded by channel_mappings.
        beds24_room_id VARCHAR(255),
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS idx_rooms_property ON rooms(property_id);

    CREATE TABLE IF NOT EXISTS reservations (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        room_id UUID REFERENCES rooms(id) ON DELETE SET NULL,
        arrival DATE NOT NULL,
        departure DATE NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'confirmed'
            CHECK (status IN ('confirmed', 'tentative', 'inquiry', 'blocked', 'cancelled')),
        guest_title TEXT,
        guest_first_name TEXT,
        guest_last_name TEXT,
        guest_email TEXT,
        guest_phone TEXT,
        guest_mobile TEXT,
        guest_address TEXT,
        guest_city TEXT,
        guest_postcode TEXT,
        guest_country TEXT,
        adults INTEGER NOT NULL DEFAULT 1 CHECK (adults >= 0),
        children INTEGER NOT NULL DEFAULT 0 CHECK (children >= 0),
        price NUMERIC(12, 2),
        deposit NUMERIC(12, 2),
        comments TEXT,
        notes TEXT,
        channel VARCHAR(50),
        channel_reference VARCHAR(100),
        beds24_booking_id BIGINT,
        beds24_modified_time TIMESTAMPTZ,
        -- A booking Beds24 reported that could not be placed in a room is kept, flagged.
        needs_attention BOOLEAN NOT NULL DEFAULT false,
        attention_reason TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CHECK (departure > arrival)
    );
    CREATE UNIQUE INDEX IF NOT EXISTS idx_reservations_beds24_booking
        ON reservations(beds24_booking_id) WHERE beds24_booking_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS idx_reservations_room_dates
        ON reservations(room_id, arrival, departure);
    CREATE INDEX IF NOT EXISTS idx_reservations_property ON reservations(property_id);

    -- Beds24 side of a property: its Beds24 id, credentials and the credit account it draws on.
    CREATE TABLE IF NOT EXISTS beds24_properties (
        property_id UUID PRIMARY KEY REFERENCES hotel_settings(id) ON DELETE CASCADE,
        beds24_property_id BIGINT NOT NULL UNIQUE,
        account_id VARCHAR(100) NOT NULL,
        refresh_token TEXT NOT NULL,
        poll_enabled BOOLEAN NOT NULL DEFAULT true,
        last_polled_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    -- Webhook secrets are stored as SHA-256 digests; two may be active during a rotation.
    CREATE TABLE IF NOT EXISTS webhook_secrets (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        secret_sha256 CHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        revoked_at TIMESTAMPTZ
    );
    CREATE INDEX IF NOT EXISTS idx_webhook_secrets_active
        ON webhook_secrets(property_id) WHERE revoked_at IS NULL;

    -- One Beds24 credit budget per account, shared by every outbound replica.
    CREATE TABLE IF NOT EXISTS beds24_credit_budgets (
        account_id VARCHAR(100) PRIMARY KEY,
        remaining NUMERIC(10, 2),
        resets_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE IF EXISTS beds24_credit_budgets;
    DROP TABLE IF EXISTS webhook_secrets;
    DROP TABLE IF EXISTS beds24_properties;
    DROP TABLE IF EXISTS reservations;
    DROP TABLE IF EXISTS rooms;
    DROP TABLE IF EXISTS room_types;
    DROP TABLE IF EXISTS hotel_settings;
    """)
