# expect: none
"""Encrypts the agent's local configuration file (single-tenant on-prem agent)."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

CONFIG_PATH = Path("/etc/agent/config.enc")


def _cipher() -> ChaCha20Poly1305:
    return ChaCha20Poly1305(Path("/etc/agent/config.key").read_bytes())


def write_config(raw_toml: bytes) -> None:
    nonce = os.urandom(12)
    CONFIG_PATH.write_bytes(nonce + _cipher().encrypt(nonce, raw_toml, None))


def read_config() -> bytes:
    blob = CONFIG_PATH.read_bytes()
    return _cipher().decrypt(blob[:12], blob[12:], None)
