"""Reporters: text grouped by failure case, JSON, SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Rule, Severity

__all__ = ["CASES", "SourceLines", "json_report", "sarif_report", "text_report"]

CASES = {
    0: "Suppressions",
    1: "Nonce / randomness",
    2: "Key / algorithm confusion",
    3: "Canonicalization",
    4: "Time, skew, replay",
    5: "Side channels",
    6: "Key lifecycle / leakage",
    7: "Dependency / config drift and weak algorithms",
    8: "Multi-tenant boundaries",
    9: "Backups / undelete",
    10: "Observability",
}
_LEVEL = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}


class SourceLines:
    """Source lines of reported files, read once each (for baselines and snippets)."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def __call__(self, finding: Finding) -> str:
        lines = self._files.get(finding.path)
        if lines is None:
            try:
                text = Path(finding.path).read_bytes().decode("utf-8", "replace")
            except OSError:
                text = ""
            lines = self._files[finding.path] = text.splitlines()
        return lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""


def text_report(findings: Sequence[Finding], lines: SourceLines) -> str:
    """Findings grouped by failure case, each with its source line and the fix."""
    out: list[str] = []
    for case, group in groupby(sorted(findings, key=lambda f: (f.case, f)), lambda f: f.case):
        items = list(group)
        out.append(f"Case {case}: {CASES.get(case, '?')} ({len(items)})")
        for f in items:
            out.append(f"  {f.path}:{f.line}:{f.column}  {f.rule} {f.name} [{f.severity}]")
            out.append(f"      {f.message}")
            snippet = lines(f).strip()
            if snippet:
                out.append(f"      | {snippet[:120]}")
            out.append(f"      fix: {f.fix}")
        out.append("")
    return "\n".join(out)


def json_report(findings: Sequence[Finding]) -> str:
    return json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False)


def sarif_report(findings: Sequence[Finding], rules: Sequence[Rule], version: str) -> str:
    from cryptorails._sarif import SarifResult, SarifRule, sarif_log

    sarif_rules = [
        SarifRule(
            id=r.code,
            name=r.name,
            short_description=r.summary,
            help_text=r.doc,
            default_level=_LEVEL[r.severity],
        )
        for r in rules
    ]
    results = [
        SarifResult(
            rule_id=f.rule,
            level=_LEVEL[Severity(f.severity)],
            message=f"{f.message}. Fix: {f.fix}",
            path=Path(f.path).as_posix(),
            line=f.line,
            column=f.column,
            fingerprint=None,
        )
        for f in findings
    ]
    log = sarif_log(
        tool="cryptorails",
        version=version,
        rules=sarif_rules,
        results=results,
    )
    return json.dumps(log, indent=2, ensure_ascii=False)
