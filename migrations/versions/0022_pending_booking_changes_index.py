"""The PMS changes of a reservation still on their way to Beds24, found by their own index.

The inbound worker asks, for every booking it applies, whether the reservation has an
outbound booking event not yet done (a newer Beds24 version waits for it). Answered from
the general indexes, Postgres combined the reservation's index with the status index, whose
'received'/'processing' part is every event in flight (tens of thousands in a backlog): tens
of milliseconds per booking, growing with the backlog. This partial index holds only the
outbound booking events not done yet, so the question reads a handful of entries.

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE INDEX idx_channel_events_pending_booking_changes ON channel_events(entity_internal_id)
        WHERE direction = 'outbound' AND entity_type = 'booking'
          AND status IN ('received', 'processing')
    """)


def downgrade() -> None:
    op.execute("DROP INDEX idx_channel_events_pending_booking_changes")
