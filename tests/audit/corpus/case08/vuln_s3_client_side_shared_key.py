# expect: 8
"""Client-side encryption of tenant exports before they are stored in S3."""

import os

import boto3
from cryptography.fernet import Fernet

s3 = boto3.client("s3")
EXPORT_BUCKET = os.environ.get("EXPORT_BUCKET", "exports")
EXPORT_CIPHER = Fernet(os.environ["EXPORT_FERNET_KEY"])


def put_export(account_id: str, export_name: str, data: bytes) -> str:
    key = f"accounts/{account_id}/exports/{export_name}.enc"
    s3.put_object(Bucket=EXPORT_BUCKET, Key=key, Body=EXPORT_CIPHER.encrypt(data))
    return key


def get_export(account_id: str, export_name: str) -> bytes:
    key = f"accounts/{account_id}/exports/{export_name}.enc"
    body = s3.get_object(Bucket=EXPORT_BUCKET, Key=key)["Body"].read()
    return EXPORT_CIPHER.decrypt(body)
