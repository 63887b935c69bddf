"""The pre-commit hook definitions name real subcommands."""

from __future__ import annotations

from pathlib import Path

from cryptorails.cli import cli

HOOKS = Path(__file__).parents[2] / ".pre-commit-hooks.yaml"


def test_every_hook_runs_an_existing_subcommand() -> None:
    entries = [
        line.split(":", 1)[1].strip()
        for line in HOOKS.read_text().splitlines()
        if line.strip().startswith("entry:")
    ]
    assert entries == ["cryptorails scan", "cryptorails secrets"]
    for entry in entries:
        program, command = entry.split()
        assert program == "cryptorails"
        assert command in cli.commands  # type: ignore[attr-defined]
