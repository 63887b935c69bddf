# expect: none
"""Release tooling: packs the built front-end bundle for the CDN."""

import hashlib
import tarfile
from pathlib import Path

DIST = Path("frontend/dist")


def pack_release(version: str, out_dir: Path) -> tuple[Path, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"frontend-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(DIST.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(DIST)))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (out_dir / f"{archive.name}.sha256").write_text(f"{digest}  {archive.name}\n")
    return archive, digest
