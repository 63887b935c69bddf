# expect: 1
"""Wraps device configuration blobs pushed to the IoT fleet."""

import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


class ConfigWrapper:
    def __init__(self) -> None:
        key = bytes.fromhex(os.environ["FLEET_CONFIG_KEY"])
        self._aead = ChaCha20Poly1305(key)

    def wrap(self, config: bytes, model: str) -> bytes:
        return self._aead.encrypt(b"fleet-cfg-01", config, model.encode())

    def unwrap(self, blob: bytes, model: str) -> bytes:
        return self._aead.decrypt(b"fleet-cfg-01", blob, model.encode())


def push(device, wrapper: ConfigWrapper, config: bytes) -> None:
    device.upload("/etc/agent/config.bin", wrapper.wrap(config, device.model))
