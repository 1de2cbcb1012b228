"""Initial sync and reconciliation: their runs (with a resumable cursor), the drift they find,
and each property's policy for stays both sides hold differently.

- `sync_runs`: one row per initial sync or reconciliation of a property. The admin API (or the
  schedule) inserts it `requested`; the inbound worker moves it stage by stage, committing its
  `cursor` with each step, so a crash resumes at the step that did not commit. At most one
  run of a property is unfinished at a time.
- `drift_records`: each difference found between Beds24 and the PMS: what (kind, subject,
  field), both values, when found (and last seen), and how it was resolved: `repaired`
  through an event in `channel_events` (its id kept), `open` for an operator when the
  policy cannot decide, `resolved` once it no longer differs.
- `beds24_properties.sync_policy`: who wins a stay held differently. `by_origin` (default):
  Beds24 for bookings that came from a channel, the PMS for those it made, anything else
  flagged; `beds24` or `pms`: that side always; `flag`: never decide.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE beds24_properties ADD COLUMN sync_policy VARCHAR(20) NOT NULL
        DEFAULT 'by_origin' CHECK (sync_policy IN ('by_origin', 'beds24', 'pms', 'flag'));

    CREATE TABLE sync_runs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        kind VARCHAR(20) NOT NULL CHECK (kind IN ('initial', 'reconcile')),
        status VARCHAR(20) NOT NULL DEFAULT 'requested'
            CHECK (status IN ('requested', 'running', 'done', 'failed')),
        stage VARCHAR(20) NOT NULL DEFAULT 'bookings'
            CHECK (stage IN ('bookings', 'reservations', 'availability', 'finished')),
        cursor JSONB NOT NULL DEFAULT '{}'::jsonb,
        progress JSONB NOT NULL DEFAULT '{}'::jsonb,
        requested_by VARCHAR(20) NOT NULL DEFAULT 'operator',
        last_error TEXT,
        requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        started_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished_at TIMESTAMPTZ
    );
    CREATE UNIQUE INDEX idx_sync_runs_one_unfinished
        ON sync_runs(property_id) WHERE status IN ('requested', 'running');
    CREATE INDEX idx_sync_runs_property ON sync_runs(property_id, requested_at DESC);

    CREATE TABLE drift_records (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        property_id UUID NOT NULL REFERENCES hotel_settings(id) ON DELETE CASCADE,
        run_id UUID REFERENCES sync_runs(id) ON DELETE SET NULL,
        last_run_id UUID REFERENCES sync_runs(id) ON DELETE SET NULL,
        kind VARCHAR(40) NOT NULL,
        subject VARCHAR(200) NOT NULL,
        beds24_value JSONB,
        pms_value JSONB,
        status VARCHAR(20) NOT NULL CHECK (status IN ('open', 'repaired', 'resolved')),
        resolution TEXT,
        event_id UUID,
        found_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        resolved_at TIMESTAMPTZ
    );
    CREATE UNIQUE INDEX idx_drift_records_one_open
        ON drift_records(property_id, kind, subject) WHERE status = 'open';
    CREATE INDEX idx_drift_records_property ON drift_records(property_id, status, found_at DESC);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE drift_records;
    DROP TABLE sync_runs;
    ALTER TABLE beds24_properties DROP COLUMN sync_policy;
    """)
