"""reservations.beds24_room_id: the Beds24 room (type) a booking from Beds24 was sold in.

A booking that found no free PMS room when it arrived (its webhooks came out of order: the
change that frees a room was not applied yet) is kept without a room and flagged. It still
holds a unit of that Beds24 room, so availability counts it there, and the inbound worker
places it as soon as a room of that Beds24 room is free.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE reservations ADD COLUMN beds24_room_id VARCHAR(255)")
    op.execute(
        """CREATE INDEX idx_reservations_waiting_for_room ON reservations(property_id)
           WHERE room_id IS NULL AND beds24_room_id IS NOT NULL"""
    )


def downgrade() -> None:
    op.execute("DROP INDEX idx_reservations_waiting_for_room")
    op.execute("ALTER TABLE reservations DROP COLUMN beds24_room_id")
