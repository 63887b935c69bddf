# expect: 9
"""Weekly backup of user uploads (media directory) to the backup bucket."""

import shutil
import tempfile
from pathlib import Path

import boto3
from django.conf import settings

BACKUP_BUCKET = "acme-backups"


def backup_media() -> str:
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "media-backup"
        archive = shutil.make_archive(str(base), "gztar", root_dir=settings.MEDIA_ROOT)
        key = f"media/{Path(archive).name}"
        s3.upload_file(archive, BACKUP_BUCKET, key)
    return key
