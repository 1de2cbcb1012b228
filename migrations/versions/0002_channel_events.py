"""channel_events: the event table and its indexes (docs/design.md#data-model), plus columns for the relay and retries.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE channel_events (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        direction VARCHAR(10) NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        event_type VARCHAR(100) NOT NULL,
        entity_type VARCHAR(50) NOT NULL,
        entity_external_id VARCHAR(255),
        entity_internal_id UUID,
        idempotency_key VARCHAR(255) NOT NULL,
        payload JSONB NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'received'
            CHECK (status IN ('received', 'processing', 'done', 'failed')),
        attempts INTEGER DEFAULT 0,
        max_attempts INTEGER DEFAULT 3,
        last_error TEXT,
        received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
        processed_at TIMESTAMP WITH TIME ZONE,
        -- Added: when the relay may (re)publish a 'received' row; when it was last published.
        next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        published_at TIMESTAMPTZ,
        correlation_id VARCHAR(100),
        -- Added: why a 'done' event changed nothing (stale, duplicate), for the audit trail.
        outcome_note TEXT,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE UNIQUE INDEX idx_channel_events_idempotency ON channel_events(idempotency_key);
    CREATE INDEX idx_channel_events_status ON channel_events(status, received_at);
    CREATE INDEX idx_channel_events_external_id ON channel_events(entity_external_id);
    -- Added: the relay's work list and the admin listing's keyset order.
    CREATE INDEX idx_channel_events_relay ON channel_events(next_attempt_at)
        WHERE status = 'received';
    CREATE INDEX idx_channel_events_listing ON channel_events(received_at DESC, id DESC);

    -- Wake the relays as soon as a 'received' row commits (payload: direction).
    CREATE FUNCTION channel_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status = 'received' THEN
            PERFORM pg_notify('channel_events_received', NEW.direction);
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER channel_events_notify
        AFTER INSERT OR UPDATE OF status ON channel_events
        FOR EACH ROW EXECUTE FUNCTION channel_events_notify();
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE channel_events;
    DROP FUNCTION channel_events_notify();
    """)
