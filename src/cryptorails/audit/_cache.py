"""Per-file scan results kept between runs (opt-in: `scan(..., cache=directory)`).

A file's result depends only on its path (findings carry it, and some rules look at
it), its bytes, the selected rules and the auditor's own code. An entry is keyed by the
path and the SHA-256 of the bytes; the whole cache belongs to one *fingerprint*: the
source of every module of `cryptorails.audit` (engine and rules), the selected rule
codes and the Python version (the parser's trees differ between versions). A change to
any of them starts an empty cache, so a rule change can never serve stale results.

The cache is trusted input: whoever can write it can hide findings. Keep it where only
the user who runs the scan can write (the default of a CI workspace or a user's cache
directory), and delete it to force a full scan. A missing, unreadable or malformed file
is treated as empty; writes go to a temporary file that replaces the old one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptorails.audit._engine import FileResult
from cryptorails.audit._finding import Finding

__all__ = ["ResultCache"]

_FILE = "audit-results.json"
_FORMAT = "cryptorails-audit-cache/1"
_MAX_ENTRIES = 200_000


class ResultCache:
    """The results stored under `directory` for the rules named by `codes`."""

    def __init__(self, directory: Path, codes: tuple[str, ...]) -> None:
        self._path = directory / _FILE
        self._fingerprint = _fingerprint(codes)
        self._entries: dict[str, list[Any]] = {}
        self._changed = False
        try:
            stored = json.loads(self._path.read_bytes())
        except (OSError, ValueError):
            return  # no cache yet, or an unreadable one: start empty
        if (
            isinstance(stored, dict)
            and stored.get("fingerprint") == self._fingerprint
            and isinstance(stored.get("files"), dict)
        ):
            self._entries = stored["files"]
        else:
            self._changed = True  # written afresh for the current rules

    @staticmethod
    def key(path: Path, source: bytes) -> str:
        return f"{path}\0{hashlib.sha256(source).hexdigest()}"

    def get(self, key: str) -> FileResult | None:
        """The stored result of a file, or None (a malformed entry is a miss)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        try:
            parsed, suppressed, warnings, findings = entry
            result = FileResult(
                findings=[_finding(f) for f in findings],
                warnings=[w for w in warnings if isinstance(w, str)],
                parsed=parsed is True,
                suppressed=suppressed if isinstance(suppressed, int) else 0,
            )
        except (TypeError, ValueError):
            del self._entries[key]
            self._changed = True
            return None
        return result

    def put(self, key: str, result: FileResult) -> None:
        findings = [
            [f.path, f.line, f.column, f.rule, f.name, f.case, f.severity, f.message, f.fix]
            for f in result.findings
        ]
        self._entries[key] = [result.parsed, result.suppressed, result.warnings, findings]
        self._changed = True

    def save(self) -> None:
        """Write the cache if it changed (atomically; a failure to write is ignored:
        the next scan only runs longer)."""
        if not self._changed:
            return
        entries = self._entries
        if len(entries) > _MAX_ENTRIES:  # the oldest go first
            entries = dict(list(entries.items())[-_MAX_ENTRIES:])
        data = json.dumps({"fingerprint": self._fingerprint, "files": entries})
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".audit-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(data)
                os.replace(temporary, self._path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self._changed = False


_FIELD_TYPES = (str, int, int, str, str, int, str, str, str)  # `Finding`'s fields


def _finding(values: object) -> Finding:
    """A stored finding, its fields checked against `Finding` (ValueError if they differ)."""
    if not isinstance(values, list) or len(values) != len(_FIELD_TYPES):
        raise ValueError("malformed finding")
    for value, kind in zip(values, _FIELD_TYPES, strict=True):
        if type(value) is not kind:
            raise ValueError("malformed finding")
    return Finding(*values)


def _fingerprint(codes: tuple[str, ...]) -> str:
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(f"\0{_FORMAT}\0{sys.implementation.name}{sys.version_info[:2]}".encode())
    digest.update("\0".join(codes).encode())
    return digest.hexdigest()


@functools.cache
def _code_digest() -> str:
    """The SHA-256 of every module of the auditor (engine, vocabularies, rules)."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for module in sorted(root.rglob("*.py")):
        digest.update(module.relative_to(root).as_posix().encode() + b"\0")
        digest.update(module.read_bytes() + b"\0")
    return digest.hexdigest()
