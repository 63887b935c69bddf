# expect: 3
"""Internal event bus: consumers check the producer's HMAC before acting."""

import hashlib
import hmac
import os

_BUS_KEY = bytes.fromhex(os.environ["EVENT_BUS_KEY"])


def sign_event(event: dict) -> str:
    return hmac.new(_BUS_KEY, str(event).encode(), hashlib.sha256).hexdigest()


def verify_event(message: dict) -> dict:
    event = message["event"]
    mac = hmac.new(_BUS_KEY, str(event).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, message["mac"]):
        raise PermissionError("bad event signature")
    return event


def handle(message: dict, handlers: dict) -> None:
    event = verify_event(message)
    handlers[event["type"]](event)
