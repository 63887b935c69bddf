# expect: 9
"""Backs up the application's data directory to the NAS."""

import tarfile
from datetime import date
from pathlib import Path

DATA_DIR = Path("/var/lib/helpdesk/data")
NAS_DIR = Path("/mnt/nas/backups/helpdesk")


def backup_data_dir() -> Path:
    NAS_DIR.mkdir(parents=True, exist_ok=True)
    archive = NAS_DIR / f"helpdesk-data-{date.today().isoformat()}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(DATA_DIR, arcname="data")
    return archive


def list_backups() -> list[Path]:
    return sorted(NAS_DIR.glob("helpdesk-data-*.tar.gz"))
