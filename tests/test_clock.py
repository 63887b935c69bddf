"""Window: symmetric skew, inclusive bounds, naive datetimes refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cryptorails.clock import SystemClock, Window
from cryptorails.errors import Reason, VerificationError

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_symmetric_by_default() -> None:
    assert Window() == Window(timedelta(minutes=5), timedelta(minutes=5))
    w = Window(timedelta(seconds=30))
    assert w.future == timedelta(seconds=30)
    assert w.span == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(0), None),
        (-timedelta(seconds=30), None),  # inclusive at both ends
        (timedelta(seconds=10), None),
        (-timedelta(seconds=30, microseconds=1), Reason.STALE),
        (timedelta(seconds=10, microseconds=1), Reason.FUTURE),
        (timedelta(days=365), Reason.FUTURE),
        (-timedelta(days=365), Reason.STALE),
    ],
)
def test_check(offset: timedelta, reason: Reason | None) -> None:
    w = Window(past=timedelta(seconds=30), future=timedelta(seconds=10))
    if reason is None:
        w.check(NOW + offset, NOW)
        return
    with pytest.raises(VerificationError) as e:
        w.check(NOW + offset, NOW)
    assert e.value.reason is reason
    assert str(e.value) == "verification failed"


def test_zero_window_accepts_only_now() -> None:
    w = Window(timedelta(0))
    w.check(NOW, NOW)
    with pytest.raises(VerificationError):
        w.check(NOW + timedelta(microseconds=1), NOW)


def test_other_timezones_compare_by_instant() -> None:
    plus2 = timezone(timedelta(hours=2))
    Window(timedelta(seconds=1)).check(NOW.astimezone(plus2), NOW)


def test_naive_datetimes_are_type_errors() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        Window().check(datetime(2030, 1, 1, 12, 0), NOW)
    with pytest.raises(TypeError, match="timezone-aware"):
        Window().check(NOW, datetime(2030, 1, 1, 12, 0))
    with pytest.raises(TypeError):
        Window().check(1893499200, NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((timedelta(seconds=-1),), ValueError),
        ((timedelta(seconds=1), timedelta(seconds=-1)), ValueError),
        ((300,), TypeError),
        ((timedelta(seconds=1), 5), TypeError),
    ],
)
def test_bad_windows(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        Window(*args)  # type: ignore[arg-type]


def test_window_is_immutable() -> None:
    w = Window()
    with pytest.raises(AttributeError):
        w.past = timedelta(0)  # type: ignore[misc]


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    Window(timedelta(seconds=5)).check(now, SystemClock().now())
