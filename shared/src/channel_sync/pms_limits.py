"""What the PMS columns can hold (see migrations/), for checks made before Postgres is asked.

A value outside these is refused where it enters (the gateway answers 400) or fails its event
permanently (the inbound worker): Postgres must never be the one to reject it, since it would
log the statement's data.
"""

from __future__ import annotations

from decimal import Decimal

# BIGINT: reservations.beds24_booking_id, beds24_properties.beds24_property_id.
BIGINT_MAX = 2**63 - 1
# INTEGER: reservations.adults / children.
INTEGER_MAX = 2**31 - 1
# NUMERIC(12, 2): reservations.price / deposit hold less than 10^10 in absolute value.
MONEY_LIMIT = Decimal(10) ** 10
