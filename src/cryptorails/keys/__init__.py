"""Keys, keysets, the keyring and key-encryption keys."""

from cryptorails.keys._keyring import DEFAULT_ALGORITHM, GCM_USAGE_BUDGET, Keyring, ShredReport
from cryptorails.keys._ledger import Ledger, Tombstone, Usage
from cryptorails.keys._model import Key, Keyset, KeyState
from cryptorails.keys._stores import keystore_environment
from cryptorails.keys.kek import Kek, LocalKek, TenantKeks, WrappedTenantKeks

__all__ = [
    "DEFAULT_ALGORITHM",
    "GCM_USAGE_BUDGET",
    "Kek",
    "Key",
    "KeyState",
    "Keyring",
    "Keyset",
    "Ledger",
    "LocalKek",
    "ShredReport",
    "TenantKeks",
    "Tombstone",
    "Usage",
    "WrappedTenantKeks",
    "keystore_environment",
]
