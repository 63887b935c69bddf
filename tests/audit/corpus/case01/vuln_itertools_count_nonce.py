# expect: 1
"""Encrypts messages before they are put on the internal queue."""

import itertools
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

QUEUE_AAD = b"jobs-queue/v1"
_sequence = itertools.count(1)


def load_queue_key() -> bytes:
    with open(os.environ["QUEUE_KEY_FILE"], "rb") as fh:
        return fh.read()


def message_nonce() -> bytes:
    """Every message gets the next number, so nonces are unique."""
    return next(_sequence).to_bytes(12, "big")


class QueuePublisher:
    def __init__(self, channel) -> None:
        self._channel = channel
        self._aead = AESGCM(load_queue_key())

    def publish(self, routing_key: str, payload: dict) -> None:
        nonce = message_nonce()
        body = self._aead.encrypt(nonce, json.dumps(payload).encode(), QUEUE_AAD)
        self._channel.basic_publish(exchange="jobs", routing_key=routing_key, body=nonce + body)
