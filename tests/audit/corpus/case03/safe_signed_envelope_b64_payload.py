# expect: none
"""Queue consumer: the signature covers the base64 payload, which is also what we decode."""

import base64
import hashlib
import hmac
import json
import os

_QUEUE_KEY = base64.b64decode(os.environ["QUEUE_SIGNING_KEY"])


def open_envelope(raw: bytes) -> dict:
    envelope = json.loads(raw)
    payload = base64.b64decode(envelope["payload"], validate=True)
    tag = hmac.new(_QUEUE_KEY, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, base64.b64decode(envelope["signature"])):
        raise PermissionError("unsigned message")
    return json.loads(payload)


def consume(raw: bytes, dispatch) -> None:
    message = open_envelope(raw)
    dispatch(message["action"], message["account"], message["body"])
