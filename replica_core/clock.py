"""Clocks: where the subnet's notion of "now" comes from.

Spec: none (impl). DESIGN.md: time is injected; only the subnet reads its clock, once per
round, and everything below it gets time from the batch. Tests use `FakeClock`.
"""

from __future__ import annotations

import time as _time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> int:
        """Nanoseconds since 1970-01-01."""
        ...


class SystemClock:
    """The wall clock (only the subnet reads it, once per round)."""

    def now(self) -> int:
        return _time.time_ns()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: int = 1_700_000_000_000_000_000) -> None:
        self._now = start

    def now(self) -> int:
        return self._now

    def advance(self, seconds: float = 0, *, ns: int = 0) -> None:
        self._now += int(seconds * 1_000_000_000) + ns
