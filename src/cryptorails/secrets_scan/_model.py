"""A finding of the secrets scanner, as reported (the secret itself is never kept)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret in one file.

    Attributes:
        path: the file as named on the command line (or found under a named folder).
        line: 1-based line; in a gzip file, of the decompressed text.
        column: 1-based column, in characters.
        kind: the detector's kind, e.g. ``github-token`` or ``known-key``.
        fingerprint: the salted fingerprint (see `Baseline`).
        preview: a masked form for people: a public prefix and a length at most.
    """

    path: str
    line: int
    column: int
    kind: str
    fingerprint: str
    preview: str

    def to_json(self) -> dict[str, object]:
        """The JSON output form: exactly path, line, column, kind and fingerprint."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
        }
