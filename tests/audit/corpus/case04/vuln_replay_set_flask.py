# expect: 4
"""Webhook receiver for the shipping carrier."""

import hashlib
import hmac
import os
import time

from flask import Flask, abort, request

app = Flask(__name__)
CARRIER_SECRET = os.environ["CARRIER_WEBHOOK_SECRET"].encode()
TOLERANCE = 300
SEEN_DELIVERIES: set[str] = set()


@app.post("/webhooks/carrier")
def carrier_webhook():
    delivery = request.headers.get("X-Delivery-Id", "")
    timestamp = request.headers.get("X-Timestamp", "0")
    body = request.get_data()
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        abort(400)
    signed = f"{delivery}.{timestamp}.".encode() + body
    expected = hmac.new(CARRIER_SECRET, signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
        abort(401)
    if delivery in SEEN_DELIVERIES:
        abort(409)
    SEEN_DELIVERIES.add(delivery)
    return {"accepted": True}
