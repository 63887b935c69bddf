"""Fixtures for the triage tests: the CLI runner and the captured inputs in data/."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cryptorails.cli import cli

Run = Callable[..., Result]
DATA = Path(__file__).parent / "data"
# The time every capture in data/ was made at (see data/make_data.py).
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """T0 + `seconds` as the ISO 8601 text --now takes."""
    return datetime.fromtimestamp(T0.timestamp() + seconds, UTC).isoformat()


def token(name: str) -> str:
    return (DATA / f"{name}.jwt").read_text().strip()


def as_json(result: Result) -> dict[str, object]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke the CLI; every outcome must be a clean exit, never a traceback."""
    monkeypatch.delenv("CRYPTORAILS_KEK_FILE", raising=False)

    def invoke(
        *args: str | Path, input: bytes | str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        result = CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result

    return invoke
