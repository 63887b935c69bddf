"""Baselines: accept the findings a project already has, report only new ones.

A baseline entry is the rule, the path and a hash of the rule, path and the stripped
source line — not the line number, so edits elsewhere in the file do not invalidate it.
Identical entries are counted: a baseline with one accepted finding on a line hides one
finding there, and a second, new one with the same text is still reported.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptorails.audit._finding import Finding
from cryptorails.errors import ConfigurationError

__all__ = ["apply_baseline", "fingerprint", "read_baseline", "write_baseline"]

_VERSION = 1
LineText = Callable[[Finding], str]


def fingerprint(finding: Finding, line_text: str) -> str:
    material = "\0".join((finding.rule, _norm(finding.path), line_text.strip()))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _norm(path: str) -> str:
    return Path(path).as_posix().removeprefix("./")


def write_baseline(path: Path, findings: Iterable[Finding], line_text: LineText) -> int:
    entries = [
        {"rule": f.rule, "path": _norm(f.path), "fingerprint": fingerprint(f, line_text(f))}
        for f in findings
    ]
    document = {"version": _VERSION, "tool": "cryptorails scan", "findings": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def read_baseline(path: Path) -> Counter[str]:
    """The accepted fingerprints, counted.

    Raises:
        ConfigurationError: the file is missing or not a baseline.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != _VERSION:
            raise ValueError("unknown version")
        return Counter(str(entry["fingerprint"]) for entry in document["findings"])
    except OSError as e:
        raise ConfigurationError(f"cannot read baseline {path}: {e.strerror or e}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(f"{path} is not a cryptorails scan baseline") from None


def apply_baseline(
    findings: Iterable[Finding], accepted: Counter[str], line_text: LineText
) -> tuple[list[Finding], int]:
    """The findings the baseline does not accept, and how many it accepted."""
    remaining = Counter(accepted)
    out: list[Finding] = []
    hidden = 0
    for finding in findings:
        key = fingerprint(finding, line_text(finding))
        if remaining[key] > 0:
            remaining[key] -= 1
            hidden += 1
        else:
            out.append(finding)
    return out, hidden
