"""Shared vocabulary for the multi-tenant rules (CR08xx): who data belongs to, cipher
objects, and where their keys come from."""

from cryptorails.audit.rules._tenancy._ciphers import (
    AEAD_AAD,
    CIPHER_CLASSES,
    cipher_constructors,
    cipher_keys,
    class_of,
    is_shared_key,
    plaintext_of,
)
from cryptorails.audit.rules._tenancy._names import (
    carries_id,
    enclosing_scopes,
    flows_mention_tenant,
    is_record_id,
    is_tenant_id,
    mentions_tenant,
    record_id_in_scope,
    tenant_in_scope,
)

__all__ = [
    "AEAD_AAD",
    "CIPHER_CLASSES",
    "carries_id",
    "cipher_constructors",
    "cipher_keys",
    "class_of",
    "enclosing_scopes",
    "flows_mention_tenant",
    "is_record_id",
    "is_shared_key",
    "is_tenant_id",
    "mentions_tenant",
    "plaintext_of",
    "record_id_in_scope",
    "tenant_in_scope",
]
