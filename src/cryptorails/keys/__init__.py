"""Keys, keysets, the keyring and key-encryption keys.

The rewrap machinery (`rewrap`, `usage_scan` and their sources) is operator tooling: it is
imported on first use, so a service that only seals and opens does not load it.
"""

from typing import TYPE_CHECKING, Any

from cryptorails.keys._keyring import DEFAULT_ALGORITHM, GCM_USAGE_BUDGET, Keyring, ShredReport
from cryptorails.keys._ledger import Ledger, Tombstone, Usage
from cryptorails.keys._model import Key, Keyset, KeyState
from cryptorails.keys._stores import keystore_environment
from cryptorails.keys.kek import Kek, LocalKek, TenantKeks, WrappedTenantKeks

if TYPE_CHECKING:
    from cryptorails.keys._rewrap import RewrapReport, rewrap, usage_scan
    from cryptorails.keys._sources import BlobSource, Outcome, Row, Update, open_source
    from cryptorails.keys._sources_dir import FileDirectory
    from cryptorails.keys._sources_sql import SqlColumn

_LAZY = {
    "RewrapReport": "_rewrap",
    "rewrap": "_rewrap",
    "usage_scan": "_rewrap",
    "BlobSource": "_sources",
    "Outcome": "_sources",
    "Row": "_sources",
    "Update": "_sources",
    "open_source": "_sources",
    "FileDirectory": "_sources_dir",
    "SqlColumn": "_sources_sql",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
