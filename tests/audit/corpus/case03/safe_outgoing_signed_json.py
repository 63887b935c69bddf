# expect: none
"""Sends signed webhooks to customers: the signed bytes are exactly the bytes sent."""

import hashlib
import hmac
import json
import time

import requests


class WebhookSender:
    def __init__(self, secret: bytes, session: requests.Session | None = None) -> None:
        self._secret = secret
        self._session = session or requests.Session()

    def send(self, url: str, event: dict) -> int:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        tag = hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256)
        response = self._session.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": timestamp,
                "X-Signature": tag.hexdigest(),
            },
            timeout=10,
        )
        return response.status_code
