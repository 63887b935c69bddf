# expect: 8
"""Nightly job: encrypts each tenant's usage snapshot for the billing archive."""

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .kms import tenant_key
from .usage import snapshot_for


def archive_usage(tenant_ids: list[str], archive) -> int:
    written = 0
    for tenant_id in tenant_ids:
        snapshot = json.dumps(snapshot_for(tenant_id)).encode()
        nonce = os.urandom(12)
        sealed = AESGCM(tenant_key(tenant_id)).encrypt(nonce, snapshot, associated_data=None)
        archive.put(f"usage/{tenant_id}.bin", nonce + sealed)
        written += 1
    return written
