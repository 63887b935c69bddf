# expect: none
"""Card vault: authenticated encryption, random nonces (we never use ECB or CBC here)."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VAULT_AAD = b"card-vault/v1"


class CardVault:
    def __init__(self) -> None:
        self._aead = AESGCM(bytes.fromhex(os.environ["CARD_VAULT_KEY"]))

    def seal(self, pan: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, pan.encode(), VAULT_AAD)

    def open(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], VAULT_AAD).decode()
