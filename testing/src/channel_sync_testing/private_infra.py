"""Private Postgres and RabbitMQ instances for fault tests: stopped, killed and restarted at
will without touching the machine's own servers (which other test runs share).

Each lives in a scratch folder with its own port: Postgres from `initdb` and `pg_ctl` (run
as the `postgres` user when we are root), RabbitMQ as a second node beside the machine's
(own node name, `listeners.tcp.1`, no plugins, data and logs owned by `rabbitmq`). Every
start and stop waits on a condition with a deadline.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, probe: object, timeout_s: float) -> None:
    assert callable(probe)
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f}s")
        time.sleep(0.2)  # sleep-ok: polling interval under the deadline above


def _as_user(user: str) -> list[str]:
    """Run as `user` when we are root (servers refuse root); as ourselves otherwise."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _postgres_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise FileNotFoundError(f"{name} (the postgresql server package) is not installed")
    return candidates[-1]


class PrivatePostgres:
    """A throwaway Postgres cluster on `port` (trust auth, user postgres)."""

    def __init__(self, port: int) -> None:
        _stop_leftover_postgres(port)
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix=f"chsync-pg-{port}-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(  # noqa: S603
            [
                *_as_user("postgres"),
                _postgres_bin("initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("start", "-l", str(self.log), "-o", options)
        _wait(f"Postgres on port {self.port}", lambda: _port_open(self.port), 30)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: sessions are ended as in an orderly restart; `immediate`: as in a crash."""
        self._pg_ctl("stop", "-m", mode)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_count(self, text: str) -> int:
        """Lines of the server log containing `text` (e.g. "deadlock detected")."""
        if not self.log.exists():
            return 0
        with self.log.open(errors="replace") as log:
            return sum(text in line for line in log)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603
            [*_as_user("postgres"), _postgres_bin("pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )


class PrivateRabbitMQ:
    """A second RabbitMQ node on `port` (guest/guest, allowed over loopback)."""

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, port: int) -> None:
        self.port = port
        self.node = f"chsync{port}@localhost"
        _stop_leftover_rabbitmq(self.node, port)
        self.root = Path(tempfile.mkdtemp(prefix=f"chsync-rmq-{port}-"))
        for folder in ("mnesia", "log"):
            (self.root / folder).mkdir()
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n"
        )
        if os.geteuid() == 0:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout_s: float = 90) -> None:
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 20_000),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
        }
        with (self.root / "server.out").open("ab") as out:
            self._server = subprocess.Popen(  # noqa: S603
                [*_as_user("rabbitmq"), self.SERVER],
                env=env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(f"RabbitMQ node {self.node}", lambda: _port_open(self.port), timeout_s)

    def stop(self) -> None:
        if self._server is None:
            return
        subprocess.run(  # noqa: S603
            ["rabbitmqctl", "-q", "-n", self.node, "stop"],  # noqa: S607
            check=False,
            capture_output=True,
            timeout=60,
        )
        try:
            self._server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self._server.pid, 9)
            self._server.wait(timeout=10)
        self._server = None
        _wait(f"RabbitMQ port {self.port} closed", lambda: not _port_open(self.port), 30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _stop_leftover_postgres(port: int) -> None:
    """A run killed before its cleanup leaves its cluster running: stop and remove it."""
    for data in glob.glob(f"{tempfile.gettempdir()}/chsync-pg-{port}-*/data"):
        if Path(data, "postmaster.pid").exists():
            subprocess.run(  # noqa: S603
                [
                    *_as_user("postgres"),
                    _postgres_bin("pg_ctl"),
                    "-D",
                    data,
                    "-w",
                    "stop",
                    "-m",
                    "immediate",
                ],
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(Path(data).parent, ignore_errors=True)


def _stop_leftover_rabbitmq(node: str, port: int) -> None:
    if _port_open(port):
        subprocess.run(  # noqa: S603
            ["rabbitmqctl", "-q", "-n", node, "stop"],  # noqa: S607
            check=False,
            capture_output=True,
            timeout=60,
        )
    for folder in glob.glob(f"{tempfile.gettempdir()}/chsync-rmq-{port}-*"):
        shutil.rmtree(folder, ignore_errors=True)
