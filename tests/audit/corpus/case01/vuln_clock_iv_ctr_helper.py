# expect: 1
"""Stream encryption for exported video chunks."""

import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def make_iv() -> bytes:
    # 8 bytes of wall-clock time followed by an 8-byte block counter starting at zero
    return struct.pack(">dQ", time.time(), 0)


class ChunkEncryptor:
    def __init__(self) -> None:
        self._key = bytes.fromhex(os.environ["VIDEO_EXPORT_KEY"])

    def encrypt_chunk(self, chunk: bytes) -> bytes:
        iv = make_iv()
        enc = Cipher(algorithms.AES(self._key), modes.CTR(iv)).encryptor()
        return iv + enc.update(chunk) + enc.finalize()

    def encrypt_stream(self, chunks) -> list[bytes]:
        return [self.encrypt_chunk(c) for c in chunks]
