"""Backups: separate backup keysets, streaming authenticated encryption with manifests,
and finding copies of keystores inside backups (failure case 9).

`BackupSealer` seals a stream or file in chunks (format ``cryptorails/v1/backup``, see
`cryptorails.backups._format`) under a per-backup data key, sealed in turn by a backup
keyring that holds nothing but backup keysets. `find_keystore_copies` reports keystores,
keysets, KEK files and key material inside files, archives and backups.
"""

from cryptorails.backups._copies import (
    COPY_KINDS,
    UNREADABLE,
    KeystoreCopy,
    find_keystore_copies,
)
from cryptorails.backups._manifest import MANIFEST_FORMAT, Manifest
from cryptorails.backups._stream import BACKUP_PURPOSE, BackupSealer, manifest_path

__all__ = [
    "BACKUP_PURPOSE",
    "COPY_KINDS",
    "MANIFEST_FORMAT",
    "UNREADABLE",
    "BackupSealer",
    "KeystoreCopy",
    "Manifest",
    "find_keystore_copies",
    "manifest_path",
]
