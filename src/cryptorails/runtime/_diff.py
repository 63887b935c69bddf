"""Differences between two fact records (two hosts, regions or images)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptorails.runtime._facts import VOLATILE

__all__ = ["Difference", "diff", "format_diff"]

# Differ between identical deployments or say nothing about crypto behaviour.
_NOT_SECURITY = frozenset({"python.build", "python.compiler"})


@dataclass(frozen=True)
class Difference:
    """One fact that differs; `security` is False for facts that differ harmlessly."""

    path: str
    a: Any
    b: Any
    security: bool


def _flatten(facts: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in facts.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Difference]:
    """Every fact that differs between `a` and `b` (missing on one side counts)."""
    flat_a, flat_b = _flatten(a), _flatten(b)
    out = []
    for path in sorted(flat_a.keys() | flat_b.keys()):
        left, right = flat_a.get(path), flat_b.get(path)
        if left != right:
            harmless = path.split(".")[0] in VOLATILE or path in _NOT_SECURITY
            out.append(Difference(path, left, right, not harmless))
    return out


def format_diff(diffs: list[Difference], name_a: str, name_b: str) -> str:
    """A readable table: security-relevant differences first, then the others."""
    if not diffs:
        return f"{name_a} and {name_b} have the same runtime facts"
    lines: list[str] = []
    width = max(len(d.path) for d in diffs)
    for title, group in (
        ("security-relevant differences", [d for d in diffs if d.security]),
        ("other differences", [d for d in diffs if not d.security]),
    ):
        if not group:
            continue
        lines.append(f"{title} ({len(group)}):")
        for d in group:
            lines.append(f"  {d.path:<{width}}  {_show(d.a)}  ->  {_show(d.b)}")
    lines.append(f"(left: {name_a}; right: {name_b})")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
