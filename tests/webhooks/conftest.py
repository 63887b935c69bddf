"""Fixtures for webhook tests: a fixed clock and a real replay guard on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptorails.clock import Window
from cryptorails.replay import ReplayGuard
from cryptorails.stores import open_store
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
