"""NOTIFY `webhook_targets_changed` (payload: the PMS property id) whenever what the gateway
authenticates a webhook with changes: a property's webhook secrets, its Beds24 link, or the
property itself. The gateway caches each property's target while it listens, and drops the
entry on this notice, so a revoked secret stops working at once.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION channel_sync_webhook_target_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('webhook_targets_changed', OLD.property_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('webhook_targets_changed', NEW.property_id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION channel_sync_webhook_property_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('webhook_targets_changed', OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER channel_sync_webhook_secrets_changed
    AFTER INSERT OR UPDATE OR DELETE ON webhook_secrets
    FOR EACH ROW EXECUTE FUNCTION channel_sync_webhook_target_changed();
-- Only the link itself: polls update this row's bookkeeping columns every few minutes.
CREATE TRIGGER channel_sync_beds24_link_changed
    AFTER INSERT OR DELETE OR UPDATE OF property_id, beds24_property_id ON beds24_properties
    FOR EACH ROW EXECUTE FUNCTION channel_sync_webhook_target_changed();
CREATE TRIGGER channel_sync_property_deleted
    AFTER DELETE ON hotel_settings
    FOR EACH ROW EXECUTE FUNCTION channel_sync_webhook_property_deleted();
"""

DOWNGRADE = """
DROP TRIGGER channel_sync_property_deleted ON hotel_settings;
DROP TRIGGER channel_sync_beds24_link_changed ON beds24_properties;
DROP TRIGGER channel_sync_webhook_secrets_changed ON webhook_secrets;
DROP FUNCTION channel_sync_webhook_property_deleted();
DROP FUNCTION channel_sync_webhook_target_changed();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
