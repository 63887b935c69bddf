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
