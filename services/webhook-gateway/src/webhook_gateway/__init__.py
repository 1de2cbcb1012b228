"""webhook-gateway: Beds24 booking webhooks in, stored as channel events, then published.

Flow, top to bottom: `main` (entry) → `app` (starlette app, lifespan) → `routes` (one handler
per route) → `auth` (the property's secret) → `schemas` (the V2 body) → `intake` (store,
then publish). `errors` turns refusals into JSON answers.
"""
