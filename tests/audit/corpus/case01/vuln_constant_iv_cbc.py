# expect: 1
"""Encrypts report files before they are uploaded to the partner SFTP."""

import os
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = bytes(16)


def _report_key() -> bytes:
    return bytes.fromhex(os.environ["PARTNER_REPORT_KEY"])


def encrypt_report(src: Path, dst: Path) -> None:
    padder = padding.PKCS7(128).padder()
    data = padder.update(src.read_bytes()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_report_key()), modes.CBC(IV)).encryptor()
    dst.write_bytes(encryptor.update(data) + encryptor.finalize())


def encrypt_all(folder: Path) -> list[Path]:
    out = []
    for report in sorted(folder.glob("*.csv")):
        target = report.with_suffix(".csv.enc")
        encrypt_report(report, target)
        out.append(target)
    return out
