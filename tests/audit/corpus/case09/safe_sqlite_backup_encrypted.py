# expect: none
"""Hot backup of the point-of-sale SQLite database, sealed under the backup key."""

import os
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DB_PATH = Path("/var/lib/pos/pos.sqlite3")
BACKUP_DIR = Path("/var/backups/pos")


def backup_now() -> Path:
    backup_aead = AESGCM(bytes.fromhex(os.environ["POS_BACKUP_KEY"]))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pos.sqlite3"
        source, destination = sqlite3.connect(DB_PATH), sqlite3.connect(copy)
        with destination:
            source.backup(destination)
        destination.close()
        source.close()
        name = f"pos-{datetime.now(UTC):%Y%m%d-%H%M}.sqlite3.enc"
        nonce = os.urandom(12)
        sealed = backup_aead.encrypt(nonce, copy.read_bytes(), name.encode())
    target = BACKUP_DIR / name
    target.write_bytes(nonce + sealed)
    return target
