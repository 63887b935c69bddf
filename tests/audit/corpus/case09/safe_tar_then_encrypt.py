# expect: none
"""Backs up the data directory: tar in memory, encrypt under the backup key, then write."""

import io
import os
import tarfile
from datetime import date
from pathlib import Path

from cryptography.fernet import Fernet

DATA_DIR = Path("/var/lib/helpdesk/data")
NAS_DIR = Path("/mnt/nas/backups/helpdesk")


def backup_data_dir() -> Path:
    backup_key = Fernet(os.environ["HELPDESK_BACKUP_KEY"].encode())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(DATA_DIR, arcname="data")
    target = NAS_DIR / f"helpdesk-data-{date.today().isoformat()}.tar.gz.enc"
    target.write_bytes(backup_key.encrypt(buffer.getvalue()))
    return target
