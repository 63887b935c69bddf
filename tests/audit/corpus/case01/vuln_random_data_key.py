# expect: 1
"""Envelope encryption: a fresh data key per document, wrapped by the KMS."""

import os
import random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def generate_data_key(length: int = 32) -> bytes:
    return bytes(random.getrandbits(8) for _ in range(length))


class DocumentSealer:
    def __init__(self, kms_client, master_key_arn: str) -> None:
        self._kms = kms_client
        self._arn = master_key_arn

    def seal(self, document: bytes) -> dict:
        data_key = generate_data_key()
        nonce = os.urandom(12)
        ciphertext = AESGCM(data_key).encrypt(nonce, document, b"doc")
        wrapped = self._kms.encrypt(KeyId=self._arn, Plaintext=data_key)["CiphertextBlob"]
        return {"wrapped_key": wrapped, "nonce": nonce, "ciphertext": ciphertext}
