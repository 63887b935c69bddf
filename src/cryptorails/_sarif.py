"""A minimal SARIF 2.1.0 log builder, shared by the secrets scanner and the code auditor.

Only the parts code-scanning consumers read are produced: one run, the tool driver with
its rules, and results with a physical location and optional partial fingerprints.
Reference: OASIS SARIF v2.1.0 (Errata 01), sections 3.13 (sarifLog), 3.14 (run),
3.19 (toolComponent), 3.49 (reportingDescriptor), 3.27 (result), 3.28 (location).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FINGERPRINT_KEY",
    "SARIF_SCHEMA",
    "SARIF_VERSION",
    "Level",
    "SarifResult",
    "SarifRule",
    "sarif_log",
]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The partialFingerprints key; the "/v1" lets a later scheme coexist (SARIF §3.27.17).
FINGERPRINT_KEY = "cryptorails/v1"

Level = Literal["error", "warning", "note"]
_LEVELS = ("error", "warning", "note")


@dataclass(frozen=True, slots=True)
class SarifRule:
    """A rule (SARIF ``reportingDescriptor``).

    Attributes:
        id: stable identifier, e.g. ``CR0101`` or ``github-token``.
        name: a PascalCase name (SARIF §3.49.7 asks for one readable identifier).
        short_description: one sentence.
        help_text: longer guidance; markdown allowed.
        default_level: ``error``, ``warning`` or ``note`` (see `Level`; checked by
            `sarif_log`).
    """

    id: str
    name: str
    short_description: str
    help_text: str
    default_level: str = "warning"


@dataclass(frozen=True, slots=True)
class SarifResult:
    """One finding at one place.

    Attributes:
        path: the file, as a relative URI (forward slashes, percent-encoded as needed).
        line: 1-based line; column: 1-based column (in Unicode code points).
        fingerprint: a stable identity for the finding across runs, or None.
    """

    rule_id: str
    level: str
    message: str
    path: str
    line: int
    column: int
    fingerprint: str | None = None


def _text(text: str) -> str:
    # SARIF messages are plain text here; keep them on one line for terse viewers.
    return re.sub(r"\s+", " ", text).strip()


def sarif_log(
    *,
    tool: str,
    version: str,
    rules: Sequence[SarifRule],
    results: Sequence[SarifResult],
) -> dict[str, object]:
    """A complete SARIF 2.1.0 log (a JSON-serialisable dict) with a single run.

    Raises:
        ValueError: a result names a rule not in `rules`, a level is not a SARIF level,
            a line or column is below 1, or two rules share an id.
    """
    index: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in index:
            raise ValueError(f"duplicate SARIF rule id {rule.id!r}")
        if rule.default_level not in _LEVELS:
            raise ValueError(f"bad SARIF level {rule.default_level!r}")
        index[rule.id] = i
    out_results: list[dict[str, object]] = []
    for result in results:
        if result.rule_id not in index:
            raise ValueError(f"result for unknown rule {result.rule_id!r}")
        if result.level not in _LEVELS:
            raise ValueError(f"bad SARIF level {result.level!r}")
        if result.line < 1 or result.column < 1:
            raise ValueError("SARIF lines and columns are 1-based")
        entry: dict[str, object] = {
            "ruleId": result.rule_id,
            "ruleIndex": index[result.rule_id],
            "level": result.level,
            "message": {"text": _text(result.message)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": result.path},
                        "region": {"startLine": result.line, "startColumn": result.column},
                    }
                }
            ],
        }
        if result.fingerprint is not None:
            entry["partialFingerprints"] = {FINGERPRINT_KEY: result.fingerprint}
        out_results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": version,
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.name,
                                "shortDescription": {"text": _text(rule.short_description)},
                                "help": {"text": rule.help_text, "markdown": rule.help_text},
                                "defaultConfiguration": {"level": rule.default_level},
                            }
                            for rule in rules
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": out_results,
            }
        ],
    }
