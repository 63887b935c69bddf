# expect: 9
"""Hot backup of the SQLite database used by the point-of-sale service."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

DB_PATH = Path("/var/lib/pos/pos.sqlite3")
BACKUP_DIR = Path("/var/backups/pos")


def backup_now() -> Path:
    BACKUP_DIR.mkdir(parents=True, exist_ok=True)
    target = BACKUP_DIR / f"pos-{datetime.now(UTC):%Y%m%d-%H%M}.sqlite3"
    source = sqlite3.connect(DB_PATH)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination, pages=1024)
    finally:
        destination.close()
        source.close()
    return target
