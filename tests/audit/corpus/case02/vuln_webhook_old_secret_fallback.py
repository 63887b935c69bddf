# expect: 2
"""Incoming webhooks from the billing provider."""

import hashlib
import hmac
import os

from flask import Flask, abort, request

app = Flask(__name__)
CURRENT_SECRET = os.environ["BILLING_WEBHOOK_SECRET"].encode()
PREVIOUS_SECRET = os.environ.get("BILLING_WEBHOOK_SECRET_OLD", "").encode()


def _valid(secret: bytes, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@app.post("/hooks/billing")
def billing_hook():
    body = request.get_data()
    signature = request.headers.get("X-Billing-Signature", "")
    if not _valid(CURRENT_SECRET, body, signature):
        # during rotation the provider may still sign with the old secret
        if not (PREVIOUS_SECRET and _valid(PREVIOUS_SECRET, body, signature)):
            abort(401)
    return {"received": True}
