"""Entry point: `admin-api` serves the operator API on HTTP_HOST:HTTP_PORT (default 8081)."""

from __future__ import annotations

import uvicorn
from channel_sync.logging import configure_logging
from pydantic import ValidationError

from admin_api.app import create_app
from admin_api.settings import AdminSettings


def load_settings() -> AdminSettings:
    """Settings from the environment; a missing or bad value exits naming its variable."""
    try:
        return AdminSettings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        lines = [
            f"{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise SystemExit("admin-api cannot start:\n  " + "\n  ".join(lines)) from None


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, service="admin-api")
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
