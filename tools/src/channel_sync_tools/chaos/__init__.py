"""`make chaos` (`python -m channel_sync_tools.chaos`): the project's own fault run.

Both directions run under load through the Beds24 sandbox (guest bookings, changes and
cancellations whose webhooks come duplicated, late or not at all; PMS reservations written,
edited and cancelled; the booking engine's inventory holds placed, confirmed, released or
left to expire), while each service is SIGKILLed and started again, RabbitMQ is stopped
and started, and Postgres restarts. After each fault a probe booking goes each way and the
seconds until both arrive are the recovery time. Then everything settles and Beds24 is
compared with the PMS.

Prints: lost, doubled, duplicate in Beds24, differing, stuck, failed, availability
mismatches (live holds counted), holds confirmed after expiry, not reaped or ended twice,
and the recovery after each fault; exits 1 if any of lost, doubled, duplicate, stuck,
availability mismatches or the hold counts is not zero, or a recovery took longer than 30 s.

Postgres and RabbitMQ are PRIVATE instances on their own ports (CHAOS_PG_PORT,
CHAOS_AMQP_PORT), so the machine's servers are never stopped. Options: `--short` (one fault
of each kind, a smaller load: what `make test` runs), `--json PATH` (the summary as JSON).

`load` makes the hotels and the load, `faults` the faults and the recovery after each,
`verdict` compares both sides and prints the summary; `__main__` runs them in order.
"""
