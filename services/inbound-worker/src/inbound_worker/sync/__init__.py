"""Initial sync and reconciliation of a property (docs/design.md): one run reads Beds24 in bulk,
compares it with the PMS, and records what must change as events in `channel_events` (the
normal paths apply them) and what differs as drift records.

runs.py        the `sync_runs` rows: claim a step, save its cursor and progress, schedule
drift.py       the `drift_records` rows
compare.py     one stay as each side holds it; who wins when they differ (the policy)
pms_side.py    the PMS reservations a run compares, and the work still in flight for them
bookings_stage.py, reservations_stage.py, availability_stage.py   one step of each stage
runner.py      the supervised loop that moves runs step by step
"""
