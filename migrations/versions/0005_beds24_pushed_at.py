"""reservations.beds24_pushed_at: when our last booking write for it succeeded in Beds24.

The outbound worker sets it (as a Beds24-origin write, so it is not captured as a PMS change).
The inbound worker treats a Beds24 version modified before it (minus a clock-skew margin) as
older than our own write, so a late webhook cannot revert the front desk's edit.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE reservations ADD COLUMN beds24_pushed_at TIMESTAMPTZ")


def downgrade() -> None:
    op.execute("ALTER TABLE reservations DROP COLUMN beds24_pushed_at")
