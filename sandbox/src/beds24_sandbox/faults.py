"""Faults injected for the next N matching API calls (never for /_sandbox/ calls).

- http_500: answer `status` (default 500) with an error body; nothing is done.
- timeout: hold the call `delay_s` (default 30 s, past the client's timeout), then answer
  504; with `apply: true` the call is carried out first (the client cannot know).
- credits: refuse as for spent credits: `status` (default 429) and an error body.
- lost_response: carry the call out, then drop the connection mid-answer.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("http_500", "timeout", "credits", "lost_response")


@dataclass
class Fault:
    id: int
    kind: str
    count: int
    method: str | None = None
    path: str | None = None
    status: int | None = None
    delay_s: float = 30.0
    apply: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        allowed = {"kind", "count", "method", "path", "status", "delay_s", "apply"}
        if set(spec) - allowed:
            raise ValueError(f"unknown fault fields {sorted(set(spec) - allowed)}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        count = spec.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a whole number >= 1")
        path = spec.get("path")
        if path is not None:
            path = "/" + str(path).removeprefix("/api/v2").removeprefix("/v2").lstrip("/")
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            count=count,
            method=str(spec["method"]).upper() if spec.get("method") else None,
            path=path,
            status=int(spec["status"]) if spec.get("status") is not None else None,
            delay_s=float(spec.get("delay_s", 30.0)),
            apply=bool(spec.get("apply", False)),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this call, its remaining count lowered by one."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]
