"""Entry point: `webhook-gateway` serves the app with uvicorn on HTTP_HOST:HTTP_PORT."""

from __future__ import annotations

from channel_sync.entry import load_settings, serve_http

from webhook_gateway.app import create_app
from webhook_gateway.settings import GatewaySettings

SERVICE = "webhook-gateway"


def main() -> None:
    settings = load_settings(GatewaySettings, SERVICE)
    serve_http(SERVICE, settings, create_app(settings), graceful_s=20)


if __name__ == "__main__":
    main()
