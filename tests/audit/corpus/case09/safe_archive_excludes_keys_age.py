# expect: none
"""Instance backup: keys are never archived (they are escrowed separately); output is age-encrypted."""

import subprocess
import tarfile
from pathlib import Path

APP_HOME = Path("/opt/ledger")
SECRET_SUFFIXES = (".key", ".pem", ".p12")
BACKUP_RECIPIENT = "age1examplepublicrecipientqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"


def _no_secrets(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    name = info.name
    if name.endswith(SECRET_SUFFIXES) or name.startswith("keys/") or name == "keys":
        return None
    return info


def backup_instance(target_dir: Path, label: str) -> Path:
    plain = target_dir / f".ledger-{label}.tar"
    with tarfile.open(plain, "w") as tar:
        tar.add(APP_HOME, arcname=".", filter=_no_secrets)
    encrypted = target_dir / f"ledger-{label}.tar.age"
    subprocess.run(["age", "-r", BACKUP_RECIPIENT, "-o", str(encrypted), str(plain)], check=True)
    plain.unlink()
    return encrypted
