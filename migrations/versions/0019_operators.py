"""Operators: named accounts, console sessions in Postgres, an audit trail, resolved dead
letters.

- `operators`: a named account with a role (`viewer` reads; `operator` also changes) and a
  secret kept as an argon2 hash. The secret handed out is `cs_<key_id>_<random>`: `key_id`
  finds the row without trying every hash. Accounts are revoked, never deleted, so the
  audit trail keeps naming them; a name is never reused.
- `console_sessions`: one row per console login; the cookie holds a random token and the
  row its SHA-256 (a copy of this table opens no session). The CSRF token lives here only.
  Logout deletes the row; revoking an operator deletes theirs; idle and absolute timeouts
  are checked on every read. A session of the admin token (no operator) records which
  token it was (`token_fingerprint`), so rotating ADMIN_API_TOKEN ends it.
- `audit_log`: every state-changing action (API, console, command line): who, when, what,
  on which events or property, and its outcome (`success`, or `refused` with the HTTP
  status). Never guest data or secrets: ids, counts and the refusal's words only.
- `channel_events.resolved_at/resolved_by/resolution_note`: a dead letter an operator
  resolved (fixed by hand, or not ours). The event stays `failed`; it leaves the
  dead-letter lists and counts. A retry clears the three.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE operators (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        name VARCHAR(64) NOT NULL,
        role VARCHAR(16) NOT NULL CHECK (role IN ('viewer', 'operator')),
        key_id VARCHAR(32) NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        created_by VARCHAR(100) NOT NULL,
        revoked_at TIMESTAMPTZ,
        revoked_by VARCHAR(100)
    );
    CREATE UNIQUE INDEX operators_name ON operators (lower(name));

    CREATE TABLE console_sessions (
        id CHAR(64) PRIMARY KEY,
        operator_id UUID REFERENCES operators(id) ON DELETE CASCADE,
        token_fingerprint CHAR(64),
        csrf_token VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL,
        CHECK ((operator_id IS NULL) <> (token_fingerprint IS NULL))
    );
    CREATE INDEX idx_console_sessions_operator ON console_sessions (operator_id);
    CREATE INDEX idx_console_sessions_expiry ON console_sessions (expires_at);

    CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor VARCHAR(100) NOT NULL,
        operator_id UUID REFERENCES operators(id),
        role VARCHAR(16),
        via VARCHAR(16) NOT NULL CHECK (via IN ('api', 'console', 'cli')),
        action VARCHAR(64) NOT NULL,
        property_id UUID,
        event_ids UUID[] NOT NULL DEFAULT '{}',
        subject VARCHAR(200),
        outcome VARCHAR(16) NOT NULL CHECK (outcome IN ('success', 'refused')),
        status SMALLINT,
        detail JSONB NOT NULL DEFAULT '{}'
    );
    CREATE INDEX idx_audit_log_actor ON audit_log (lower(actor), id DESC);
    CREATE INDEX idx_audit_log_property ON audit_log (property_id, id DESC);
    CREATE INDEX idx_audit_log_events ON audit_log USING gin (event_ids);

    ALTER TABLE channel_events
        ADD COLUMN resolved_at TIMESTAMPTZ,
        ADD COLUMN resolved_by VARCHAR(100),
        ADD COLUMN resolution_note TEXT;
    CREATE INDEX idx_channel_events_dead_letters ON channel_events (property_id, direction)
        WHERE status = 'failed' AND resolved_at IS NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX idx_channel_events_dead_letters;
    ALTER TABLE channel_events
        DROP COLUMN resolution_note,
        DROP COLUMN resolved_by,
        DROP COLUMN resolved_at;
    DROP TABLE audit_log;
    DROP TABLE console_sessions;
    DROP TABLE operators;
    """)
