"""Reservations by room and departure: "is this room taken on these nights" reads only the
stays not yet over.

The overlap checks (placement, availability) ask for a room's reservations with
`departure > first night` and `arrival <= last night`. On `(room_id, arrival, departure)`
the arrival bound matches every past stay of the room too, so each check read all of them
(hundreds per room after a year, thousands after a few): the cost of applying a booking grew
with the hotel's history. On `(room_id, departure, arrival)` the departure bound skips the
past; it replaces the old index (the planner kept choosing that one).

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE INDEX idx_reservations_room_departure ON reservations(room_id, departure, arrival);
    DROP INDEX idx_reservations_room_dates;
    """)


def downgrade() -> None:
    op.execute("""
    CREATE INDEX idx_reservations_room_dates ON reservations(room_id, arrival, departure);
    DROP INDEX idx_reservations_room_departure;
    """)
