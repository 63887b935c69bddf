"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cryptorails.cli import cli

Run = Callable[..., Result]


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


@pytest.fixture
def ks(run: Run, tmp_path: Path) -> Path:
    """A fresh keystore (environment `prod`) with its KEK at the default `<ks>.kek`."""
    path = tmp_path / "ks"
    result = run("keys", "init", "--keystore", path, "--environment", "prod")
    assert result.exit_code == 0, result.output
    return path
