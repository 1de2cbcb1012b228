"""Where the repository is, and where the runs write their logs."""

from __future__ import annotations

from pathlib import Path


def _repository() -> Path:
    """The workspace root (it holds uv.lock); the working directory when not installed
    from a checkout."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "uv.lock").is_file():
            return folder
    return Path.cwd()


ROOT = _repository()
LOGS = ROOT / ".run"
