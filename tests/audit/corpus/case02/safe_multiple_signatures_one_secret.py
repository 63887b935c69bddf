# expect: none
"""Standard Webhooks receiver: the sender may attach several signatures; we hold one secret."""

import base64
import hashlib
import hmac
import os

_SECRET = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))


def signature_matches(msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = hmac.new(_SECRET, signed, hashlib.sha256).digest()
    for candidate in header.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            tag = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if hmac.compare_digest(expected, tag):
            return True
    return False
