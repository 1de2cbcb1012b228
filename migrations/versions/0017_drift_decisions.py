"""drift_records: an operator's decision on an open record (`POST /admin/drift/{id}/decision`).

- `status` may now be `decided`: an operator decided and nothing had to be sent for it
  (a possible match linked or said to differ, a difference dismissed). A decision that
  repairs a side through an event leaves the record `repaired`, with the event's id.
- `decision` (JSONB, NULL until an operator decides): what was decided, for the sync to
  honour and for the audit trail; `resolution` says the same in words.

      {"decision": "link" | "differ" | "keep_beds24" | "keep_pms" | "dismiss",
       "by": "<who decided>", "note": "<the operator's note>" | null,
       "reservation_ids": ["<uuid>", ...]}   -- link: the one linked; differ: those that
                                             -- are not the booking's stay

  The inbound worker's runs read it: a `possible_match` decided `differ` is never proposed
  again for those reservations; a difference `dismiss`ed is not opened again while both
  sides hold the same values.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE drift_records DROP CONSTRAINT drift_records_status_check;
    ALTER TABLE drift_records ADD CONSTRAINT drift_records_status_check
        CHECK (status IN ('open', 'repaired', 'resolved', 'decided'));
    ALTER TABLE drift_records ADD COLUMN decision JSONB;
    CREATE INDEX idx_drift_records_decided ON drift_records(property_id, kind, subject)
        WHERE decision IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX idx_drift_records_decided;
    ALTER TABLE drift_records DROP COLUMN decision;
    UPDATE drift_records SET status = 'resolved' WHERE status = 'decided';
    ALTER TABLE drift_records DROP CONSTRAINT drift_records_status_check;
    ALTER TABLE drift_records ADD CONSTRAINT drift_records_status_check
        CHECK (status IN ('open', 'repaired', 'resolved'));
    """)
