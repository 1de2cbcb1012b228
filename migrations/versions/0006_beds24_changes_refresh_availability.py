"""Changes applied from Beds24 refresh availability too (they still send no booking back).

0004's reservation trigger returned at once for a Beds24-origin change, so a Beds24
cancellation or shortened stay never freed its nights: a `numAvail` we had lowered stayed
low. Now only the booking event is skipped for those; the availability event for the room
and nights is recorded as for any PMS change. Downgrade restores 0004's function.

The function's text lives in channel_sync/sql/capture_reservation.sql (its one home).

Revision ID: 0006
Revises: 0005
"""

import importlib.util
from pathlib import Path

from alembic import op
from channel_sync.pms_fields import capture_reservation_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The capture_reservation.sql this migration was written for; a test fails when the file no
# longer matches the newest migration's value (a change the databases would never get).
CAPTURE_RESERVATION_SHA256 = "be984c651db38e9dbf7102f1c53473f6cb6583d14cfb496511e19dadbf8f491e"


def _installed_by_0004() -> str:
    """0004's function, as `CREATE OR REPLACE` (migration files are loaded by path)."""
    path = Path(__file__).with_name("0004_outbound_capture.py")
    spec = importlib.util.spec_from_file_location("channel_sync_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sql: str = module.CAPTURE_RESERVATION
    return sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(capture_reservation_sql())


def downgrade() -> None:
    op.execute(_installed_by_0004())
