# expect: none
"""Downloads the GeoIP database and checks it against the vendor's published SHA-256."""

import hashlib
from pathlib import Path

import requests

DB_URL = "https://downloads.example.test/geoip/latest.mmdb"
SUM_URL = DB_URL + ".sha256"


def download_database(target: Path) -> Path:
    published = requests.get(SUM_URL, timeout=30).text.split()[0].lower()
    data = requests.get(DB_URL, timeout=300).content
    actual = hashlib.sha256(data).hexdigest()
    if actual != published:
        raise RuntimeError(f"checksum mismatch: got {actual}, vendor says {published}")
    target.write_bytes(data)
    return target
