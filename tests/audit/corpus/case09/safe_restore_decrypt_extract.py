# expect: none
"""Restores an encrypted backup into a scratch directory for verification."""

import io
import os
import tarfile
from pathlib import Path

from cryptography.fernet import Fernet


def restore(backup_file: Path, scratch: Path) -> list[str]:
    backup_key = Fernet(os.environ["HELPDESK_BACKUP_KEY"].encode())
    plain = backup_key.decrypt(backup_file.read_bytes())
    scratch.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        tar.extractall(scratch, filter="data")
        return tar.getnames()


def verify_restore(backup_file: Path, scratch: Path) -> bool:
    names = restore(backup_file, scratch)
    return any(name.endswith("tickets.db") for name in names)
