"""Two questions asked of the events in flight, each answered from its own small index
instead of the status index's whole `processing` part (every event in flight, both
directions: tens of thousands during a burst or a backlog):

- the outbound batch's take-in (`outbound_worker.ports.PostgresBatches.untried_of_account`):
  an account's published outbound events nobody has tried yet, per property, oldest first;
  asked by every account's batch, so a burst on one account must not make every other
  account's batches read it;
- the relays' stalled sweep (`ChannelEventRepository.requeue_stalled`): `processing` events
  of one direction untouched for long (48 ms a sweep at a 20,000-event backlog before).

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE INDEX idx_channel_events_outbound_untried ON channel_events(property_id, received_at)
        WHERE status = 'processing' AND direction = 'outbound' AND attempts = 0
    """)
    op.execute("""
    CREATE INDEX idx_channel_events_processing_since ON channel_events(direction, updated_at)
        WHERE status = 'processing'
    """)


def downgrade() -> None:
    op.execute("DROP INDEX idx_channel_events_processing_since")
    op.execute("DROP INDEX idx_channel_events_outbound_untried")
