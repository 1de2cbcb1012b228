"""The onboarding check of issue 24, repeatable: a real hotel connected to Beds24 through the
admin API, then drift on both sides and two reconciliations; figures and a verdict per rule.

    uv run --frozen python -m channel_sync_tools.onboard_real_hotel [--seed N] [--poll] [--keep]

The hotel: 60 rooms in four room types. Beds24 holds 307 bookings of every kind (three OTAs,
direct, every status, cancelled, past, in-house, owner blocks, inquiries, OTA groups,
roomQty bookings); the PMS holds 127 reservations, 57 of them the same stays as Beds24
bookings: 20 carry the OTA's code (`channel_reference`, with `channel`), 25 the Beds24 id (an
earlier link), 12 are bookings an earlier connection made (our reference `pms-<id>` in
Beds24). A few of those are held differently on each side at connection (the policy
decides, or an operator). The property is onboarded through the admin API (POST
/admin/properties with an invite code, PUT mappings, POST initial-sync) while guests (Beds24
webhooks) and the front desk (PMS writes) change bookings in three waves during the sync.

Then drift on both sides (a PMS guest-name correction whose events are lost; a Beds24
roomQty lowered 2 → 1 whose webhook is dropped; a reservation deleted in the PMS, events
lost, still in Beds24 in a room type with no spare room; an OTA booking edited once at the
desk) and two reconciliations.

Rules (each printed with its count, PASS/FAIL; exit 1 when any fails):
  1. every stay exactly once on each side after the initial sync (and at the end), matched
     by Beds24 id, by our reference, by OTA code with channel;
  2. each conflict repaired by the stated policy with a drift record holding both values
     (and both sides now agree), or open for the operator with both sides kept; no
     difference left that no open record names;
  3. the OTA's code in Beds24's apiReference is never overwritten;
  4. the second reconciliation writes nothing (no new event, no new drift record, no write
     to Beds24);
  5. Beds24 credits per phase, from the sandbox's per-account call log: initial sync <= 20,
     first reconciliation <= 12, second <= 10.

Runs on its own stack (ports 18280-18283, sandbox 18290; override with ONBOARD_PORT_BASE),
its own database (`channel_sync_onboard`) and its own RabbitMQ vhost. `--poll` runs the
missed-webhook poller as in production (its first poll lands at an uncontrolled moment, so
figures vary); without it the poller is off, as in the tests.

`catalogue` plans the hotel from the seed, `hotel` fills and connects it on the stack and
changes it during the sync, `rules` and `drift` judge, `__main__` runs the check.
"""
