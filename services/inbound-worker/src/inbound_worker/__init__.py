"""inbound-worker: applies Beds24 booking events to PMS reservations.

Flow, top to bottom: `main` (entry) → `app` (composition root: consumer, relay, poller,
health) → `handler` (one event, one transaction) → `booking` (Beds24 booking → PMS columns)
→ `mapping` (which PMS room) → `reservations` (SQL). `poller` is the safety net for lost
webhooks; `beds24_bookings` reads bookings from Beds24 (V1 pings, polling).
"""
