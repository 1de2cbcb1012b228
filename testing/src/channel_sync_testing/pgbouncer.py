"""A private PgBouncer (the OS package's `pgbouncer` binary) on a free loopback port, in
front of a test Postgres: the deployment's own pgbouncer.ini with local paths and whatever a
test overrides (a small cap, say). Started as a child process and stopped by its process
group; every wait has a deadline. Its admin console answers `SHOW ...` (simple protocol).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
import yaml


def pgbouncer_binary() -> str | None:
    """The installed pgbouncer (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def deployed_ini(manifest: Path) -> str:
    """The pgbouncer.ini the deployment runs: its ConfigMap `pgbouncer-config` in
    `manifest` (deploy/base/pgbouncer.yaml)."""
    [config] = [
        doc
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "pgbouncer-config"
    ]
    ini: str = config["data"]["pgbouncer.ini"]
    return ini


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def with_settings(ini: str, settings: Mapping[str, str]) -> str:
    """`ini` (a [pgbouncer] section and `%include` lines) with `settings` replacing the keys
    it has and added where it has not; `%include` lines are dropped (the caller includes
    its own databases)."""
    lines, seen = [], set()
    for line in ini.splitlines():
        key = line.partition("=")[0].strip()
        if line.strip().startswith("%include"):
            continue
        if key in settings and not line.lstrip().startswith((";", "#")):
            lines.append(f"{key} = {settings[key]}")
            seen.add(key)
        else:
            lines.append(line)
    lines += [f"{k} = {v}" for k, v in settings.items() if k not in seen]
    return "\n".join(lines) + "\n"


class PrivatePgBouncer:
    """`ini`: a pgbouncer.ini whose [pgbouncer] section is kept (listening address, files
    and `settings` replaced); `databases`: alias -> connection string; `users`: name ->
    password (its userlist.txt; the first user may read the admin console)."""

    def __init__(
        self,
        binary: str,
        ini: str,
        *,
        databases: Mapping[str, str],
        users: Mapping[str, str],
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chsync-pgbouncer-"))
        self._users = dict(users)
        (self.root / "userlist.txt").write_text(
            "".join(f'"{name}" "{password}"\n' for name, password in users.items())
        )
        (self.root / "databases.ini").write_text(
            "[databases]\n" + "".join(f"{alias} = {cs}\n" for alias, cs in databases.items())
        )
        local = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_file": str(self.root / "userlist.txt"),
            "stats_users": next(iter(users)),
            **(settings or {}),
        }
        text = with_settings(ini, local) + f"%include {self.root / 'databases.ini'}\n"
        (self.root / "pgbouncer.ini").write_text(text)
        self.log = self.root / "pgbouncer.log"
        # It refuses to run as root: as root, it switches to the postgres user itself.
        self._as_root = os.geteuid() == 0
        if self._as_root:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, "postgres")
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    def dsn(self, database: str, user: str | None = None) -> str:
        user = user or next(iter(self._users))
        return f"postgresql://{user}:{self._users[user]}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout_s: float = 15) -> None:
        switch = ["-u", "postgres"] if self._as_root else []
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603
                [self._binary, *switch, str(self.root / "pgbouncer.ini")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"pgbouncer on port {self.port} within {timeout_s:.0f}s")
            time.sleep(0.05)  # sleep-ok: polling interval under the deadline above

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # its own group: only this one
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
        self._process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    async def show(self, what: str) -> list[dict[str, Any]]:
        """`SHOW <what>` on the admin console (POOLS, SERVERS, CONFIG, ...) as rows."""
        async with await psycopg.AsyncConnection.connect(
            self.dsn("pgbouncer"), autocommit=True, cursor_factory=psycopg.AsyncClientCursor
        ) as conn:
            cursor = await conn.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
