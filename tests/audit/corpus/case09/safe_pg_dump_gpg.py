# expect: none
"""Nightly PostgreSQL backup, encrypted to the backup key before it touches disk."""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", "/mnt/backups/postgres"))
BACKUP_RECIPIENT = "backups@example.test"  # public key id of the offline backup key


def backup_database(database: str = "app") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = BACKUP_DIR / f"{database}-{stamp}.dump.gpg"
    dump = subprocess.Popen(["pg_dump", "--format=custom", database], stdout=subprocess.PIPE)
    subprocess.run(
        ["gpg", "--batch", "--encrypt", "--recipient", BACKUP_RECIPIENT, "--output", str(target)],
        stdin=dump.stdout,
        check=True,
    )
    if dump.wait() != 0:
        target.unlink(missing_ok=True)
        raise RuntimeError("pg_dump failed")
    return target
