"""reservations.made_by: who made the booking, recorded when it is made or matched.

`pms`: made in the PMS (the default for any insert that is not the inbound worker's);
`beds24`: sold by a channel or typed into Beds24 (imported by the inbound worker, or a PMS
reservation matched to a Beds24 booking by the OTA's reservation code). A push never changes
it: the sync's `by_origin` policy reads it instead of the booking's `apiReference`, which a
channel's code occupies. Existing rows: `pms` if the PMS ever sent a create for them,
`beds24` if only Beds24's events touched them, else unknown (NULL: the reference decides).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE reservations ADD COLUMN made_by VARCHAR(10)
        CHECK (made_by IN ('pms', 'beds24'));
    UPDATE reservations r SET made_by = CASE
        WHEN EXISTS (SELECT 1 FROM channel_events e
                     WHERE e.entity_internal_id = r.id AND e.direction = 'outbound'
                       AND e.event_type = 'pms.booking.create') THEN 'pms'
        WHEN EXISTS (SELECT 1 FROM channel_events e
                     WHERE e.entity_internal_id = r.id AND e.direction = 'inbound') THEN 'beds24'
        END;
    ALTER TABLE reservations ALTER COLUMN made_by SET DEFAULT 'pms';
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE reservations DROP COLUMN made_by")
