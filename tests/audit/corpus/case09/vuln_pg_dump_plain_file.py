# expect: 9
"""Nightly PostgreSQL backup (cron: 0 3 * * *)."""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", "/mnt/backups/postgres"))


def backup_database(database: str = "app") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = BACKUP_DIR / f"{database}-{stamp}.sql"
    subprocess.run(
        ["pg_dump", "--no-owner", "--format=plain", "--file", str(target), database],
        check=True,
        env={**os.environ, "PGHOST": os.environ.get("PGHOST", "db")},
    )
    return target


def prune(keep: int = 14) -> None:
    dumps = sorted(BACKUP_DIR.glob("*.sql"))
    for old in dumps[:-keep]:
        old.unlink()


if __name__ == "__main__":
    backup_database()
    prune()
