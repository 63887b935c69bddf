"""Key-encryption keys (KEKs): what protects a keystore at rest.

A KEK wraps each keyset with associated data naming the keyset's environment, tenant and
purpose, so a keyset file copied under another name, tenant or environment does not
unwrap. `LocalKek` keeps a 32-byte key in a file of its own; HSM (PKCS#11) and cloud KMS
KEKs implement the same two-method protocol. A `TenantKeks` provider gives each tenant
its own KEK.
"""

from cryptorails.keys.kek._aws import AwsKmsKek
from cryptorails.keys.kek._aws_tenants import AwsKmsTenantKeks
from cryptorails.keys.kek._base import Kek, TenantKeks
from cryptorails.keys.kek._local import LocalKek, WrappedTenantKeks, read_kek_file
from cryptorails.keys.kek._pkcs11 import Pkcs11Kek, Pkcs11TenantKeks
from cryptorails.keys.kek._uri import open_kek, open_tenant_keks

__all__ = [
    "AwsKmsKek",
    "AwsKmsTenantKeks",
    "Kek",
    "LocalKek",
    "Pkcs11Kek",
    "Pkcs11TenantKeks",
    "TenantKeks",
    "WrappedTenantKeks",
    "open_kek",
    "open_tenant_keks",
    "read_kek_file",
]
