"""What the runs print: lines flushed at once (their output is read while they run)."""

from __future__ import annotations

import json


def say(text: str = "") -> None:
    print(text, flush=True)


def evidence(label: str, value: object) -> None:
    """`label: value`, the value as sorted JSON (dates and ids as text)."""
    say(f"    {label}: {json.dumps(value, default=str, sort_keys=True)}")
