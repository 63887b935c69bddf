"""Fixtures for the web integration tests: a fixed clock and real SQLite stores."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptorails.clock import Window
from cryptorails.replay import Idempotency, ReplayGuard
from cryptorails.stores import Store, open_store
from cryptorails.testing import FixedClock

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()
BODY = b'{"type":"invoice.paid","data":{"id":"in_1","amount":1999}}'


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def open_sqlite(tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens another connection to one SQLite store file (as another process would)."""
    stores: list[Store] = []

    def opener() -> Store:
        store = open_store(f"sqlite://{tmp_path / 'state.db'}")
        stores.append(store)
        return store

    yield opener
    for store in stores:
        store.close()


@pytest.fixture
def guard(open_sqlite: Callable[[], Store], clock: FixedClock) -> ReplayGuard:
    return ReplayGuard(open_sqlite(), Window(timedelta(minutes=5)), clock=clock)


@pytest.fixture
def idempotency(open_sqlite: Callable[[], Store]) -> Idempotency:
    return Idempotency(open_sqlite())
