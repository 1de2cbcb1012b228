"""Relays are woken only for `received` rows due now, and the notify function runs only then.

0002's trigger ran its plpgsql function for every inserted row and every status change, to
notify for a `received` one: the rows the gateway inserts (held for its own publish, not
due yet) woke every relay for nothing, and each `received` → `processing` → `done` update
paid a function call that did nothing. A WHEN condition now keeps both out; rows that come
due later are taken by the relay's poll (every 2 s), as before.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    DROP TRIGGER channel_events_notify ON channel_events;
    CREATE TRIGGER channel_events_notify
        AFTER INSERT OR UPDATE OF status ON channel_events
        FOR EACH ROW WHEN (NEW.status = 'received' AND NEW.next_attempt_at <= now())
        EXECUTE FUNCTION channel_events_notify();
    """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER channel_events_notify ON channel_events;
    CREATE TRIGGER channel_events_notify
        AFTER INSERT OR UPDATE OF status ON channel_events
        FOR EACH ROW EXECUTE FUNCTION channel_events_notify();
    """)
