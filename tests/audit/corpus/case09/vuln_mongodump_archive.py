# expect: 9
"""Scheduled MongoDB backups (Celery beat task)."""

import subprocess
from datetime import UTC, datetime

from celery import shared_task

MONGO_URI_ENV = "MONGO_BACKUP_URI"
ARCHIVE_DIR = "/data/backups/mongo"


@shared_task
def dump_mongo() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M")
    archive = f"{ARCHIVE_DIR}/catalog-{stamp}.archive.gz"
    subprocess.run(
        ["mongodump", "--db=catalog", f"--archive={archive}", "--gzip"],
        check=True,
    )
    return archive
