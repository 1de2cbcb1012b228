"""`channel-sync-migrate [upgrade head|downgrade base|...]`: runs the Alembic migrations.

Used by `make setup`, the compose migrate service and the Kubernetes migration Job.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic.config import CommandLine, Config


def _find_alembic_ini() -> Path:
    configured = os.environ.get("ALEMBIC_CONFIG")
    if configured:
        return Path(configured)
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = folder / "alembic.ini"
        if candidate.exists():
            return candidate
    raise SystemExit("alembic.ini not found: set ALEMBIC_CONFIG")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(_find_alembic_ini()))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv) or ["upgrade", "head"]
    cli = CommandLine(prog="channel-sync-migrate")
    options = cli.parser.parse_args(args)
    cli.run_cmd(alembic_config(), options)


if __name__ == "__main__":
    main()
