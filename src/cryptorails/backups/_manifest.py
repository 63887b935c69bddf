"""`Manifest`: the index written next to a backup. A convenience, never trusted.

Everything in a manifest can be recomputed from the backup and the backup keyring:
`BackupSealer.open_stream` derives its own manifest from the authenticated header and
the chunks it verified, and `BackupSealer.verify_manifest` compares a stored manifest
with that. Nothing reads a manifest to decide how to decrypt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["MANIFEST_FORMAT", "Manifest"]

MANIFEST_FORMAT = "cryptorails/v1/backup-manifest"
_MAX_MANIFEST_BYTES = 1 << 20
_INTS = ("kid", "chunk_size", "chunk_count", "plaintext_bytes")
_STRS = ("backup_id", "environment", "tenant", "purpose", "sha256", "source")


@dataclass(frozen=True)
class Manifest:
    """What one backup holds, and under which key.

    Attributes:
        backup_id: the random id in the backup header (32 hex digits).
        environment: the backup keyring's environment, bound into the sealed data key.
        tenant: the tenant whose backup keyset sealed the data key.
        purpose: always ``backup``.
        kid: the key id (in that keyset) that sealed the data key.
        created: when the backup was made (UTC, from the header).
        chunk_size: plaintext bytes per chunk (all but the final one are full).
        chunk_count: chunks in the backup, the final one included.
        plaintext_bytes: bytes of the data backed up.
        sha256: SHA-256 of the whole backup file (hex).
        source: a free-text label of what was backed up (not in the backup itself).
    """

    backup_id: str
    environment: str
    tenant: str
    purpose: str
    kid: int
    created: datetime
    chunk_size: int
    chunk_count: int
    plaintext_bytes: int
    sha256: str
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (a dict of JSON types), with a format label."""
        return {
            "format": MANIFEST_FORMAT,
            "backup_id": self.backup_id,
            "environment": self.environment,
            "tenant": self.tenant,
            "purpose": self.purpose,
            "kid": self.kid,
            "created": self.created.isoformat(),
            "chunk_size": self.chunk_size,
            "chunk_count": self.chunk_count,
            "plaintext_bytes": self.plaintext_bytes,
            "sha256": self.sha256,
            "source": self.source,
        }

    def dumps(self) -> bytes:
        """The manifest file's bytes (indented JSON and a newline)."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Manifest:
        """Parse the JSON form (a mapping, or a JSON document as str or bytes).

        Raises:
            ValueError: not a manifest (bad JSON, wrong format label, a missing field or
                one of the wrong type).
        """
        if isinstance(data, str | bytes):
            if len(data) > _MAX_MANIFEST_BYTES:
                raise ValueError("not a backup manifest: larger than 1 MiB")
            try:
                data = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise ValueError("not a backup manifest: invalid JSON") from None
        if not isinstance(data, Mapping):
            raise ValueError("not a backup manifest: not a JSON object")
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a backup manifest: format is not {MANIFEST_FORMAT}")
        for name in _INTS:
            value = data.get(name)
            # bool is an int subclass; true/false is never a count or a key id.
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"backup manifest field {name!r} must be a non-negative int")
        for name in _STRS:
            if not isinstance(data.get(name), str):
                raise ValueError(f"backup manifest field {name!r} must be a string")
        created = data.get("created")
        try:
            when = datetime.fromisoformat(created) if isinstance(created, str) else None
        except ValueError:
            when = None
        if when is None or when.utcoffset() is None:
            raise ValueError("backup manifest field 'created' must be an ISO 8601 time with zone")
        return cls(
            backup_id=data["backup_id"],
            environment=data["environment"],
            tenant=data["tenant"],
            purpose=data["purpose"],
            kid=data["kid"],
            created=when,
            chunk_size=data["chunk_size"],
            chunk_count=data["chunk_count"],
            plaintext_bytes=data["plaintext_bytes"],
            sha256=data["sha256"],
            source=data["source"],
        )

    def differences(self, other: Manifest) -> list[str]:
        """The names of the fields (all but `source`) in which two manifests differ."""
        mine, theirs = self.to_json(), other.to_json()
        return [
            name
            for name in mine
            if name not in ("format", "source", "created") and mine[name] != theirs[name]
        ] + (["created"] if self.created != other.created else [])
