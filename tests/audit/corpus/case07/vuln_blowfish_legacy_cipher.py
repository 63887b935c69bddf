# expect: 7
"""Encrypts the customer export files for the old mainframe import."""

import os

from Crypto.Cipher import Blowfish
from Crypto.Util.Padding import pad


def encrypt_export(data: bytes) -> bytes:
    key = bytes.fromhex(os.environ["MAINFRAME_EXPORT_KEY"])
    iv = os.urandom(Blowfish.block_size)
    cipher = Blowfish.new(key, Blowfish.MODE_CBC, iv)
    return iv + cipher.encrypt(pad(data, Blowfish.block_size))


def write_export(path: str, rows: list[str]) -> None:
    with open(path, "wb") as fh:
        fh.write(encrypt_export("\n".join(rows).encode()))
