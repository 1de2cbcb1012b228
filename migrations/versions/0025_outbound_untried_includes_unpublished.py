"""The outbound take-in also finds events committed but not yet marked published.

A relay publishes its claimed rows and marks them `processing` when its transaction
commits; a worker whose batch window closes between the two found none of them untried, so
the account's burst went out in two calls instead of one (and another replica's in a third).
A row still `received` and due is as untried as a published one: whatever the batch does
with it, the relay's mark only moves `received` rows, and its message finds it done.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX idx_channel_events_outbound_untried")
    op.execute("""
    CREATE INDEX idx_channel_events_outbound_untried ON channel_events(property_id, received_at)
        WHERE status IN ('received', 'processing') AND direction = 'outbound' AND attempts = 0
    """)


def downgrade() -> None:
    op.execute("DROP INDEX idx_channel_events_outbound_untried")
    op.execute("""
    CREATE INDEX idx_channel_events_outbound_untried ON channel_events(property_id, received_at)
        WHERE status = 'processing' AND direction = 'outbound' AND attempts = 0
    """)
