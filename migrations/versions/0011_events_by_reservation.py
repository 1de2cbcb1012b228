"""Index channel_events by PMS reservation (`entity_internal_id`): a booking's timeline and a
stay's events are looked up by it (with the Beds24 id, which has its own index), and
without it every such look-up read the whole table. Built CONCURRENTLY, so adding it to a
large live table blocks no writes.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            """CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_channel_events_internal_id
               ON channel_events(entity_internal_id) WHERE entity_internal_id IS NOT NULL"""
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_channel_events_internal_id")
