# expect: none
"""Streams pg_dump straight to S3, encrypted server-side with the backup KMS key."""

import os
import subprocess
from datetime import UTC, datetime

import boto3

BACKUP_BUCKET = os.environ.get("BACKUP_BUCKET", "acme-db-backups")
BACKUP_KMS_KEY = os.environ["BACKUP_KMS_KEY_ARN"]


def backup_to_s3(database: str = "app") -> str:
    key = f"postgres/{database}/{datetime.now(UTC):%Y/%m/%d/%H%M}.dump"
    dump = subprocess.Popen(["pg_dump", "--format=custom", database], stdout=subprocess.PIPE)
    boto3.client("s3").upload_fileobj(
        dump.stdout,
        BACKUP_BUCKET,
        key,
        ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": BACKUP_KMS_KEY},
    )
    if dump.wait() != 0:
        raise RuntimeError("pg_dump failed")
    return key
