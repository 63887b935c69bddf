# expect: 7
"""Tokenises card numbers for the analytics warehouse (deterministic on purpose)."""

import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class CardTokeniser:
    def __init__(self) -> None:
        self._key = bytes.fromhex(os.environ["CARD_TOKEN_KEY"])

    def tokenise(self, pan: str) -> str:
        padder = padding.PKCS7(128).padder()
        block = padder.update(pan.encode()) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self._key), modes.ECB()).encryptor()
        return (encryptor.update(block) + encryptor.finalize()).hex()

    def tokenise_many(self, pans: list[str]) -> list[str]:
        return [self.tokenise(p) for p in pans]
