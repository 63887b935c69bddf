"""Test helpers that ship with the library: a fixed clock, in-memory keyring and store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptorails.keys import Keyring
from cryptorails.stores._memory import MemoryStore

__all__ = ["FixedClock", "MemoryStore", "keyring"]


class FixedClock:
    """A clock that only moves when told to. Both clocks advance together."""

    def __init__(self, now: datetime | None = None) -> None:
        now = now or datetime(2030, 1, 1, tzinfo=UTC)
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now.astimezone(UTC)
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, delta: timedelta | float) -> None:
        """Move both clocks forward by `delta` (a timedelta or seconds)."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a FixedClock only moves forward; use set() to step back")
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    def set(self, now: datetime) -> None:
        """Set the wall clock (it may step backwards, like a real one); monotonic stays."""
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now.astimezone(UTC)


def keyring(environment: str = "test", **options: Any) -> Keyring:
    """An in-memory keyring for tests (same options as `Keyring.in_memory`)."""
    return Keyring.in_memory(environment, **options)
