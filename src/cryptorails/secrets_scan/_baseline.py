"""Salted fingerprints of findings, and the baseline file of accepted ones.

A fingerprint is ``HMAC-SHA256(salt, kind || 0x00 || secret)``, truncated to 128 bits
and written in hex. It identifies "the same secret of the same kind" across runs that
share the salt, wherever the secret moves, and it is never an unsalted hash: with a
plain SHA-256 anyone could confirm a guessed password against a published report.

The salt comes from the baseline when one is given; otherwise every run draws a fresh
random salt, so the fingerprints of two runs without a baseline cannot be compared
(or linked) with each other. The baseline file holds the salt and fingerprints only. The
salt lets its holder test guesses of low-entropy secrets against those fingerprints, so
treat a baseline like any other security artefact (review changes to it; don't publish
it next to the data it describes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BASELINE_FORMAT", "Baseline", "BaselineError", "fingerprint"]

BASELINE_FORMAT = "cryptorails/v1/secrets-baseline"
_SALT_BYTES = 32
_HEX = re.compile(r"[0-9a-f]{32}")


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a cryptorails secrets baseline."""


def fingerprint(salt: bytes, kind: str, secret: bytes) -> str:
    """The salted fingerprint of one finding: 32 hex digits."""
    mac = hmac.new(salt, kind.encode("ascii") + b"\x00" + secret, hashlib.sha256)
    return mac.hexdigest()[:32]


@dataclass
class Baseline:
    """A salt and the fingerprints accepted under it."""

    salt: bytes = field(default_factory=lambda: os.urandom(_SALT_BYTES), repr=False)
    fingerprints: set[str] = field(default_factory=set)

    def __contains__(self, fp: object) -> bool:
        return fp in self.fingerprints

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a baseline file.

        Raises:
            BaselineError: unreadable, not JSON, or not of this format.
        """
        try:
            data = json.loads(path.read_bytes())
        except OSError as e:
            raise BaselineError(f"cannot read baseline {path}: {e.strerror or e}") from None
        except ValueError:
            raise BaselineError(f"baseline {path} is not JSON") from None
        if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
            raise BaselineError(f"{path} is not a cryptorails secrets baseline")
        salt, fps = data.get("salt"), data.get("fingerprints")
        if not isinstance(salt, str) or not re.fullmatch(r"[0-9a-f]{64}", salt):
            raise BaselineError(f"baseline {path}: salt must be 64 hex digits")
        if not isinstance(fps, list) or not all(
            isinstance(f, str) and _HEX.fullmatch(f) for f in fps
        ):
            raise BaselineError(f"baseline {path}: fingerprints must be 32-hex-digit strings")
        return cls(bytes.fromhex(salt), set(fps))

    def save(self, path: Path, fingerprints: Iterable[str]) -> None:
        """Write a baseline with this salt and `fingerprints` (atomically: a reader sees
        the old file or the new one, never half of one)."""
        data = {
            "format": BASELINE_FORMAT,
            "salt": self.salt.hex(),
            "fingerprints": sorted(set(fingerprints)),
        }
        text = json.dumps(data, indent=2) + "\n"
        directory = path.parent if str(path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
