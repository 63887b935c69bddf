"""Shared test configuration: opt-in slow tests and service requirements."""

from __future__ import annotations

import os

import pytest


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
