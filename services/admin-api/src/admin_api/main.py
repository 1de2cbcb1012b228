"""Entry point: `admin-api` serves the operator API on HTTP_HOST:HTTP_PORT (default 8081)."""

from __future__ import annotations

from channel_sync.entry import load_settings as load
from channel_sync.entry import serve_http

from admin_api.app import create_app
from admin_api.settings import AdminSettings

SERVICE = "admin-api"


def load_settings() -> AdminSettings:
    """Settings from the environment; a missing or bad value exits naming its variable."""
    return load(AdminSettings, SERVICE)


def main() -> None:
    settings = load_settings()
    serve_http(SERVICE, settings, create_app(settings))


if __name__ == "__main__":
    main()
