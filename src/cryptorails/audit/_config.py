"""Configuration: ``[tool.cryptorails]`` in the nearest ``pyproject.toml``.

Keys read here: ``select`` and ``ignore`` (rule codes or code prefixes such as ``CR05``),
``exclude`` (glob patterns) and ``baseline`` (a path relative to the pyproject file).
Other keys and sub-tables belong to other parts of cryptorails and are left alone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptorails.audit._registry import Rule
from cryptorails.errors import ConfigurationError

__all__ = ["AuditConfig", "find_pyproject", "load_config", "select_rules"]


@dataclass(frozen=True)
class AuditConfig:
    """The auditor's settings (empty `select` means every rule)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    baseline: Path | None = None
    source: Path | None = None


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above `start`."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path) -> AuditConfig:
    """Read ``[tool.cryptorails]`` from the pyproject.toml nearest to `start`.

    Raises:
        ConfigurationError: the file is not valid TOML or a key has the wrong type.
    """
    path = find_pyproject(start)
    if path is None:
        return AuditConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigurationError(f"{path}: not valid TOML ({e})") from None
    table = data.get("tool", {}).get("cryptorails", {})
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{path}: [tool.cryptorails] must be a table")
    baseline = table.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise ConfigurationError(f"{path}: tool.cryptorails.baseline must be a string")
    return AuditConfig(
        select=_strings(table, "select", path),
        ignore=_strings(table, "ignore", path),
        exclude=_strings(table, "exclude", path),
        baseline=path.parent / baseline if baseline else None,
        source=path,
    )


def _strings(table: Mapping[str, object], key: str, path: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{path}: tool.cryptorails.{key} must be a list of strings")
    return tuple(value)


def select_rules(
    rules: Mapping[str, Rule], select: Iterable[str], ignore: Iterable[str]
) -> list[Rule]:
    """The rules whose code starts with a `select` prefix (all when empty) and with no
    `ignore` prefix.

    Raises:
        ConfigurationError: a prefix that matches no rule (a typo would otherwise
            silently select nothing or ignore nothing).
    """
    select, ignore = tuple(select), tuple(ignore)
    for prefix in (*select, *ignore):
        if not any(code.startswith(prefix) for code in rules):
            raise ConfigurationError(f"no rule code starts with {prefix!r}")
    return [
        rule
        for code, rule in rules.items()
        if (not select or code.startswith(select)) and not code.startswith(ignore or ("\0",))
    ]
