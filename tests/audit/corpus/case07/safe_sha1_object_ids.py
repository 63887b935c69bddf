# expect: none
"""A tiny content-addressed store compatible with git's blob ids."""

import hashlib
import zlib
from pathlib import Path


def blob_id(data: bytes) -> str:
    header = f"blob {len(data)}\0".encode()
    return hashlib.sha1(header + data).hexdigest()


def write_blob(root: Path, data: bytes) -> str:
    oid = blob_id(data)
    path = root / "objects" / oid[:2] / oid[2:]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(zlib.compress(f"blob {len(data)}\0".encode() + data))
    return oid


def read_blob(root: Path, oid: str) -> bytes:
    raw = zlib.decompress((root / "objects" / oid[:2] / oid[2:]).read_bytes())
    return raw.split(b"\0", 1)[1]
