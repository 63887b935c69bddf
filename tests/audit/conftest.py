"""Helpers for the auditor's tests."""

from __future__ import annotations

from pathlib import Path

from cryptorails.audit import Finding, all_rules, check_source

FIXTURES = Path(__file__).parent / "fixtures"
SAFE_MARKER = "# --- safe ---"


def run(source: str | bytes, *codes: str, path: str = "snippet.py") -> list[Finding]:
    """Findings of the given rules (all rules when none is given) on `source`."""
    rules = all_rules()
    selected = [rules[c] for c in codes] if codes else list(rules.values())
    data = source.encode() if isinstance(source, str) else source
    return check_source(data, path, selected).findings


def snapshot_lines(findings: list[Finding]) -> list[str]:
    return [f"{f.line}:{f.column} {f.rule} {f.message}" for f in findings]
