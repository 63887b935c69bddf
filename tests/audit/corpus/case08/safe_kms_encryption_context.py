# expect: none
"""Each tenant has its own KMS key; the encryption context binds tenant and record."""

import boto3

kms = boto3.client("kms")


def tenant_key_alias(tenant_id: str) -> str:
    return f"alias/tenant-{tenant_id}"


def encrypt_secret(tenant_id: str, record_id: str, value: bytes) -> bytes:
    response = kms.encrypt(
        KeyId=tenant_key_alias(tenant_id),
        Plaintext=value,
        EncryptionContext={"tenant": tenant_id, "record": record_id},
    )
    return response["CiphertextBlob"]


def decrypt_secret(tenant_id: str, record_id: str, blob: bytes) -> bytes:
    response = kms.decrypt(
        CiphertextBlob=blob,
        KeyId=tenant_key_alias(tenant_id),
        EncryptionContext={"tenant": tenant_id, "record": record_id},
    )
    return response["Plaintext"]
