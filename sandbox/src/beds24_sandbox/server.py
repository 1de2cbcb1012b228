"""Run an ASGI app (the sandbox by default) on uvicorn in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from beds24_sandbox.app import create_app
from beds24_sandbox.world import Sandbox


class _NoSignals(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host process owns its signals
        yield


class ThreadServer:
    """Serves `app` on a free 127.0.0.1 port (`base`) from a daemon thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = _NoSignals(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="sandbox-http",
            daemon=True,
        )

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server thread did not start")
            time.sleep(0.01)  # sleep-ok: waiting for the server thread under a deadline

    def before_stop(self) -> None:
        """Hook: let the app finish what holds connections open."""

    def stop(self) -> None:
        self.before_stop()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class SandboxServer(ThreadServer):
    """`with SandboxServer() as server:` serves the sandbox; API at `server.api_url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sandbox = Sandbox()
        super().__init__(create_app(self.sandbox), host, port)

    def before_stop(self) -> None:
        loop = self.sandbox.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.sandbox.release_held)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v2"

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
