# expect: 9
"""Full instance backup: configuration, data and keys in one archive, so restores are easy."""

import tarfile
from pathlib import Path

APP_HOME = Path("/opt/ledger")
INCLUDE = ["config/ledger.toml", "data/ledger.db", "keys/master.key", "keys/signing.pem"]


def backup_instance(target_dir: Path, label: str) -> Path:
    archive = target_dir / f"ledger-{label}.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for relative in INCLUDE:
            tar.add(APP_HOME / relative, arcname=relative)
    return archive
