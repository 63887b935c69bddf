# expect: 9
"""Backs up the shop database before each deployment."""

import gzip
import shutil
import subprocess
from pathlib import Path

BACKUP_ROOT = Path("/srv/deploy/db-backups")


def predeploy_backup(release: str, database: str = "shop") -> Path:
    BACKUP_ROOT.mkdir(parents=True, exist_ok=True)
    target = BACKUP_ROOT / f"{database}-before-{release}.sql.gz"
    dump = subprocess.Popen(
        ["mysqldump", "--single-transaction", "--routines", database],
        stdout=subprocess.PIPE,
    )
    with gzip.open(target, "wb") as out:
        shutil.copyfileobj(dump.stdout, out)
    if dump.wait() != 0:
        target.unlink(missing_ok=True)
        raise RuntimeError("mysqldump failed")
    return target
