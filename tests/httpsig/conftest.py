"""A real replay guard on SQLite for RFC 9421 nonce tests (never a fake)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cryptorails.clock import Window
from cryptorails.replay import ReplayGuard
from cryptorails.stores import open_store
from cryptorails.testing import FixedClock

from .helpers import CREATED


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CREATED)


@pytest.fixture
def guard(tmp_path: Path, clock: FixedClock) -> ReplayGuard:
    store = open_store(f"sqlite:///{tmp_path}/replay.db")
    return ReplayGuard(store, Window(timedelta(minutes=5)), clock=clock)
