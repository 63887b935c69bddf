"""Fixtures for webhook tests: a fixed clock and real replay guards on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptorails.clock import Clock, Window
from cryptorails.replay import ReplayGuard
from cryptorails.stores import Store, open_store
from cryptorails.testing import FixedClock

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def guard(tmp_path: Path, clock: FixedClock) -> ReplayGuard:
    """A real `ReplayGuard` on an SQLite store (never a fake), on the test's clock."""
    store = open_store(f"sqlite:///{tmp_path}/replay.db")
    return ReplayGuard(store, Window(timedelta(minutes=5)), clock=clock)


class WindowedGuard(ReplayGuard):
    """A real `ReplayGuard` that also exposes its `Window` as ``window``, the read-only
    accessor `GitHubVerifier` looks for (`ReplayGuard` itself keeps it private)."""

    def __init__(self, store: Store, window: Window, *, clock: Clock | None = None) -> None:
        super().__init__(store, window, clock=clock)
        self._exposed_window = window

    @property
    def window(self) -> Window:
        return self._exposed_window


@pytest.fixture
def long_guard(tmp_path: Path, clock: FixedClock) -> WindowedGuard:
    """A guard that remembers ids for 30 days, as GitHub deliveries need."""
    store = open_store(f"sqlite:///{tmp_path}/github.db")
    return WindowedGuard(store, Window(timedelta(days=30), timedelta(0)), clock=clock)
