"""A finding: where, which rule, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem found in one place. Lines and columns are 1-based (columns count
    characters, not bytes)."""

    path: str
    line: int
    column: int
    rule: str
    name: str
    case: int
    severity: str
    message: str
    fix: str

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "case": self.case,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }
