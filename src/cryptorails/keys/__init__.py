"""Keys, keysets, the keyring and key-encryption keys."""

from cryptorails.keys._keyring import DEFAULT_ALGORITHM, GCM_USAGE_BUDGET, Keyring, ShredReport
from cryptorails.keys._ledger import Ledger, Tombstone, Usage
from cryptorails.keys._model import Key, Keyset, KeyState
from cryptorails.keys._rewrap import RewrapReport, rewrap, usage_scan
from cryptorails.keys._sources import BlobSource, Outcome, Row, Update, open_source
from cryptorails.keys._sources_dir import FileDirectory
from cryptorails.keys._sources_sql import SqlColumn
from cryptorails.keys._stores import keystore_environment
from cryptorails.keys.kek import Kek, LocalKek, TenantKeks, WrappedTenantKeks

__all__ = [
    "DEFAULT_ALGORITHM",
    "GCM_USAGE_BUDGET",
    "BlobSource",
    "FileDirectory",
    "Kek",
    "Key",
    "KeyState",
    "Keyring",
    "Keyset",
    "Ledger",
    "LocalKek",
    "Outcome",
    "RewrapReport",
    "Row",
    "ShredReport",
    "SqlColumn",
    "TenantKeks",
    "Tombstone",
    "Update",
    "Usage",
    "WrappedTenantKeks",
    "keystore_environment",
    "open_source",
    "rewrap",
    "usage_scan",
]
