# expect: none
"""Encrypted on-disk cache for the desktop sync client (one user, one machine)."""

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet

CACHE_FILE = Path.home() / ".cache" / "syncer" / "state.bin"
_fernet = Fernet(os.environ["SYNCER_CACHE_KEY"].encode())


def save_state(state: dict) -> None:
    CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
    CACHE_FILE.write_bytes(_fernet.encrypt(json.dumps(state).encode()))


def load_state() -> dict:
    if not CACHE_FILE.exists():
        return {}
    return json.loads(_fernet.decrypt(CACHE_FILE.read_bytes()))
