"""Keys, keysets, the keyring and key-encryption keys."""

from cryptorails.keys._keyring import DEFAULT_ALGORITHM, GCM_USAGE_BUDGET, Keyring
from cryptorails.keys._model import Key, Keyset, KeyState
from cryptorails.keys._stores import keystore_environment
from cryptorails.keys.kek import Kek, LocalKek

__all__ = [
    "DEFAULT_ALGORITHM",
    "GCM_USAGE_BUDGET",
    "Kek",
    "Key",
    "KeyState",
    "Keyring",
    "Keyset",
    "LocalKek",
    "keystore_environment",
]
