"""Rule registration: one decorator per rule, no central table.

A rule is a function ``check(node, ctx) -> Iterable[Finding]`` in its own module under
``cryptorails.audit.rules``; `@rule` records it with its code, failure case, severity,
CWE, the AST node types it wants to see, and the literal words a file must contain for
the rule to possibly fire (the engine's prefilter: a file that contains none of any
selected rule's words is never parsed), and optionally a finer test of the text
(`confirm`) for files that have the words. The rule's documentation is its docstring,
under the headings in `DOC_HEADINGS`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptorails.audit._context import FileContext
    from cryptorails.audit._finding import Finding

__all__ = ["DOC_HEADINGS", "Rule", "Severity", "all_rules", "rule"]

DOC_HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead", "References")
_CODE = re.compile(r"CR(\d\d)(\d\d)")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

Check = Callable[[ast.AST, "FileContext"], Iterable["Finding"]]
# (source, lower-cased source, path) -> whether the rule may fire in this file.
Confirm = Callable[[bytes, bytes, str], bool]


class Severity(StrEnum):
    """How bad a finding is, mapped to SARIF levels by the reporters."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class Rule:
    """One registered rule.

    `requires` is a conjunction of alternatives: the rule can only fire in a source file
    that contains at least one word of every group (case-insensitive). An empty tuple
    means the rule needs no word. `confirm`, when set, is a second necessary condition,
    tested only on files that have the words: a file where it returns False is not
    parsed for this rule, so it must return True wherever the rule could report.
    """

    code: str
    name: str
    case: int
    severity: Severity
    cwe: int
    nodes: tuple[type[ast.AST], ...]
    check: Check
    requires: tuple[tuple[bytes, ...], ...]
    doc: str = field(repr=False)
    confirm: Confirm | None = field(default=None, repr=False, compare=False)

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def section(self, heading: str) -> str:
        """The text under one ``## heading`` of the documentation ('' if absent)."""
        return _sections(self.doc).get(heading, "")

    def could_match(self, lowered_source: bytes) -> bool:
        """Whether the source has a word of every `requires` group (the reference for
        the engine's `Prefilter`)."""
        return all(any(w in lowered_source for w in group) for group in self.requires)

    def may_fire(self, source: bytes, path: str = "") -> bool:
        """The whole text test: `could_match`, then `confirm`."""
        lowered = source.lower()
        if not self.could_match(lowered):
            return False
        return self.confirm is None or self.confirm(source, lowered, path)


def _sections(doc: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in inspect.cleandoc(doc).splitlines():
        if line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines).strip()
    return out


_RULES: dict[str, Rule] = {}
_loaded = False


def rule(
    *,
    code: str,
    name: str,
    case: int,
    severity: Severity,
    cwe: int,
    nodes: tuple[type[ast.AST], ...],
    requires: Iterable[Iterable[str]] = (),
    confirm: Confirm | None = None,
) -> Callable[[Check], Check]:
    """Register the decorated function as rule `code`.

    Raises:
        ValueError: a malformed or duplicate code or name, or a code whose failure-case
            digits disagree with `case`.
    """
    match = _CODE.fullmatch(code)
    if match is None or int(match[1]) != case:
        raise ValueError(f"rule code {code!r} must be CR + case {case:02d} + two digits")
    if not _NAME.fullmatch(name):
        raise ValueError(f"rule name {name!r} must be kebab-case")
    if not nodes:
        raise ValueError(f"rule {code} must name the node types it checks")
    words = tuple(tuple(w.lower().encode() for w in group) for group in requires)
    if any(not group for group in words):
        raise ValueError(f"rule {code}: an empty group in requires= can never match")

    def register(check: Check) -> Check:
        if code in _RULES or any(r.name == name for r in _RULES.values()):
            raise ValueError(f"rule {code} ({name}) is registered twice")
        _RULES[code] = Rule(
            code,
            name,
            case,
            severity,
            cwe,
            nodes,
            check,
            words,
            inspect.cleandoc(check.__doc__ or ""),
            confirm,
        )
        return check

    return register


def all_rules() -> dict[str, Rule]:
    """Every rule, by code, in code order (importing the rule modules on first use)."""
    global _loaded
    if not _loaded:
        from cryptorails.audit import rules

        for info in pkgutil.iter_modules(rules.__path__):
            importlib.import_module(f"{rules.__name__}.{info.name}")
        _loaded = True
    return dict(sorted(_RULES.items()))
