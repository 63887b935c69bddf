# expect: none
"""Tenant-scoped lookups: deterministic ids for analytics, no encryption involved."""

import hashlib
import uuid

NAMESPACE = uuid.UUID("6f1c1e4a-9b43-4c1e-8d9e-2a7f5b0c3d11")


def analytics_id(tenant_id: str, user_email: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}:{user_email.lower()}"))


def shard_for(tenant_id: str, shards: int = 64) -> int:
    digest = hashlib.blake2b(tenant_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def storage_prefix(tenant_id: str, record_id: str) -> str:
    return f"t/{shard_for(tenant_id):02d}/{tenant_id}/{record_id}"
