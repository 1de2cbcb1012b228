"""pytest fixtures for the Beds24 sandbox (filled in by the sandbox's own work)."""
