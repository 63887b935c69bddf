# expect: none
"""Static asset pipeline: content hashes for cache busting and ETags."""

import hashlib
import shutil
from pathlib import Path


def content_hash(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def publish_asset(src: Path, out_dir: Path) -> tuple[str, str]:
    fingerprint = content_hash(src)
    target = out_dir / f"{src.stem}.{fingerprint}{src.suffix}"
    shutil.copy2(src, target)
    etag = f'"{fingerprint}"'
    return target.name, etag


def cache_key(*parts: str) -> str:
    return "tpl:" + hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()
