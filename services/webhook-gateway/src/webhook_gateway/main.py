"""Entry point: `webhook-gateway` serves the app with uvicorn on HTTP_HOST:HTTP_PORT."""

from __future__ import annotations

import uvicorn
from channel_sync.logging import configure_logging

from webhook_gateway.app import create_app
from webhook_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, service="webhook-gateway")
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging, configured above
        access_log=False,  # routes log one line per webhook themselves
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
