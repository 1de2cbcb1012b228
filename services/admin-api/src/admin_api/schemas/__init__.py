"""Request and response models of the admin API (they also feed /openapi.json)."""
