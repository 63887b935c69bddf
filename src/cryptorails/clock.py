"""Time as an explicit dependency: wall-clock for timestamps, monotonic for durations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from cryptorails.errors import Reason, VerificationError

__all__ = ["Clock", "SystemClock", "Window", "require_aware"]


@runtime_checkable
class Clock(Protocol):
    """A source of time. Pass one in (`clock=`) instead of patching time in tests."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations only)."""
        ...


class SystemClock:
    """The host's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def require_aware(name: str, value: object) -> datetime:
    """Return `value` if it is a timezone-aware datetime; otherwise raise TypeError.

    A naive datetime is ambiguous (local time? UTC?), and guessing is how a window ends up
    shifted by the host's UTC offset, so it is refused rather than interpreted.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")
    return value


@dataclass(frozen=True, init=False)
class Window:
    """How far a claimed timestamp may lie from now: `past` behind it, `future` ahead.

    Symmetric by default (`future` defaults to `past`), because clocks drift both ways:
    a window that only refuses old timestamps accepts a message stamped an hour ahead,
    which then stays valid for an hour longer than intended. Both bounds are inclusive.

    Args:
        past: how old a timestamp may be (non-negative).
        future: how far ahead of now a timestamp may be (non-negative; default `past`).
    """

    past: timedelta
    future: timedelta

    def __init__(
        self, past: timedelta = timedelta(minutes=5), future: timedelta | None = None
    ) -> None:
        if future is None:
            future = past
        for name, value in (("past", past), ("future", future)):
            if not isinstance(value, timedelta):
                raise TypeError(f"Window {name} must be a timedelta, not {type(value).__name__}")
            if value < timedelta(0):
                raise ValueError(f"Window {name} must not be negative")
        object.__setattr__(self, "past", past)
        object.__setattr__(self, "future", future)

    @property
    def span(self) -> timedelta:
        """`past + future`: how long one timestamp stays acceptable, from first to last."""
        return self.past + self.future

    def check(self, timestamp: datetime, now: datetime) -> None:
        """Accept `timestamp` if `now - past <= timestamp <= now + future`.

        Raises:
            TypeError: either datetime is naive (or not a datetime).
            VerificationError: too old (reason STALE) or too far ahead (reason FUTURE).
        """
        require_aware("timestamp", timestamp)
        require_aware("now", now)
        if timestamp < now - self.past:
            raise VerificationError(Reason.STALE)
        if timestamp > now + self.future:
            raise VerificationError(Reason.FUTURE)
