"""Key-encryption keys (KEKs): what protects a keystore at rest.

A KEK wraps each keyset with associated data naming the keyset's environment, tenant and
purpose, so a keyset file copied under another name, tenant or environment does not
unwrap. `LocalKek` keeps a 32-byte key in a file of its own; HSM (PKCS#11) and cloud KMS
KEKs implement the same two-method protocol. A `TenantKeks` provider gives each tenant
its own KEK.
"""

from cryptorails.keys.kek._base import Kek, TenantKeks
from cryptorails.keys.kek._local import LocalKek, WrappedTenantKeks

__all__ = ["Kek", "LocalKek", "TenantKeks", "WrappedTenantKeks"]
