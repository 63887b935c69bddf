"""Shared test configuration: opt-in slow tests and service requirements."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cryptorails.stores import Store
    from cryptorails.testing import MemoryStore


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow; run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def services_required() -> bool:
    """Whether a missing service (Redis, PostgreSQL) fails tests instead of skipping them."""
    return os.environ.get("CRYPTORAILS_REQUIRE_SERVICES") == "1"


def _unavailable(service: str, url: str, error: Exception) -> None:
    message = f"{service} not reachable at {url}: {error}"
    if services_required():
        pytest.fail(f"{message} (CRYPTORAILS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis URL (CRYPTORAILS_TEST_REDIS, default redis://127.0.0.1:6379/15)."""
    url = os.environ.get("CRYPTORAILS_TEST_REDIS", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as e:  # any failure means "not available here"
        _unavailable("Redis", url, e)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL URL (CRYPTORAILS_TEST_POSTGRES, default the local test db)."""
    url = os.environ.get("CRYPTORAILS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as e:
        _unavailable("PostgreSQL", url, e)
    return url


class StoreBackend:
    """One store backend under test: opens stores in a namespace unique to the test.

    `expire(seconds)` lets entries with a TTL of `seconds` or less expire: the SQLite and
    memory stores run on a FixedClock (advanced), Redis and PostgreSQL on their server's
    clock (slept), so tests use short TTLs.
    """

    def __init__(self, name: str, url: str | None, tmp_path: Path) -> None:
        from cryptorails.testing import FixedClock

        self.name = name
        self.url = url
        self.namespace = f"t{uuid.uuid4().hex[:16]}"
        self.clock = FixedClock() if name in ("memory", "sqlite") else None
        self._stores: list[Store] = []
        self._memory: MemoryStore | None = None

    @property
    def multiprocess(self) -> bool:
        return self.url is not None

    def open(self, namespace: str | None = None) -> Store:
        from cryptorails.stores import open_store
        from cryptorails.testing import MemoryStore

        ns = namespace or self.namespace
        store: Store
        if self.url is None:
            if self._memory is None:
                self._memory = MemoryStore(namespace=ns, clock=self.clock)
            store = self._memory.with_namespace(ns)
        else:
            store = open_store(self.url, namespace=ns, clock=self.clock)
        self._stores.append(store)
        return store

    def expire(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds + 0.001)
        else:
            time.sleep(seconds + 0.02)

    def cleanup(self, namespaces: list[str]) -> None:
        for store in self._stores:
            store.close()
        if self.name == "redis":
            import redis

            client = redis.Redis.from_url(str(self.url))
            for ns in namespaces:
                keys = list(client.scan_iter(match=f"{ns}:*", count=1000))
                if keys:
                    client.delete(*keys)
            client.close()
        elif self.name == "postgres":
            import psycopg

            with psycopg.connect(str(self.url), autocommit=True) as conn:
                for ns in namespaces:
                    conn.execute("DELETE FROM cryptorails_store WHERE namespace = %s", (ns,))


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    """Every store backend, each in a namespace of its own (removed afterwards)."""
    url: str | None = None
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'store.db'}"
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    backend = StoreBackend(request.param, url, tmp_path)
    yield backend
    backend.cleanup([backend.namespace, backend.namespace + "x"])
