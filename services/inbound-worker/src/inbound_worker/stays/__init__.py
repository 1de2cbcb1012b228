"""Multi-room stays as Beds24 delivers them (one home, inbound side; the outbound side is
`outbound_worker.stay_groups`, the operators' view `admin_api.queries.stays`):

- `group`: which stay a Beds24 booking belongs to, read from the booking alone;
- `membership`: a booking joined to its stay; stays merged, split and gathered as Beds24
  regroups bookings, never undoing a change the desk has not sent yet;
- `qty_rooms`: the extra rooms of a booking with `roomQty` > 1.

See docs/multi-room-stays.md.
"""
