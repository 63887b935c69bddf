"""The example service's replay demo, end to end: two uvicorn instances, one store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

DEMO = Path(__file__).resolve().parents[2] / "examples" / "webhook_service" / "replay_demo.py"


def run_demo(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(DEMO), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check(output: str) -> None:
    lines = output.splitlines()
    assert any(line.startswith("instance A ") and ": 200 {" in line for line in lines), output
    assert any(
        line.startswith("instance B ") and line.endswith(': 401 {"error":"unauthorized"}')
        for line in lines
    ), output
    assert any("verify_failed" in line and '"reason":"replay"' in line for line in lines), output
    assert lines[-1].startswith("outcome: replay rejected")


def test_demo_with_sqlite() -> None:
    check(run_demo())


def test_demo_with_redis(redis_url: str) -> None:
    output = run_demo("--store-url", redis_url)
    assert f"store: {redis_url}" in output
    check(output)
