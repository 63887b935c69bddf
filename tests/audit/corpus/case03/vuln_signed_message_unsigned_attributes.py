# expect: 3
"""Queue consumer: the producer signs `body`; routing uses `attributes`."""

import base64
import hashlib
import hmac
import json
import os

_QUEUE_KEY = base64.b64decode(os.environ["QUEUE_SIGNING_KEY"])


def _verify(envelope: dict) -> None:
    tag = hmac.new(_QUEUE_KEY, envelope["body"].encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(tag, base64.b64decode(envelope["signature"])):
        raise PermissionError("unsigned message")


def consume(raw: bytes, dispatch) -> None:
    envelope = json.loads(raw)
    _verify(envelope)
    body = json.loads(envelope["body"])
    action = envelope["attributes"]["action"]  # "refund", "capture", ...
    account = envelope["attributes"]["account"]
    dispatch(action, account, body)
