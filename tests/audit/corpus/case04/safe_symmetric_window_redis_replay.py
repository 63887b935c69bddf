# expect: none
"""Webhook receiver: symmetric time window plus a shared replay store."""

import hashlib
import hmac
import os
import time

from flask import Flask, abort, request
from redis import Redis

app = Flask(__name__)
CARRIER_SECRET = os.environ["CARRIER_WEBHOOK_SECRET"].encode()
TOLERANCE = 300
replay_store = Redis.from_url(os.environ["REDIS_URL"])


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
    # shared by every worker; kept at least as long as the window is open on either side
    if not replay_store.set(f"carrier:{delivery}", 1, nx=True, ex=2 * TOLERANCE):
        abort(409)
    return {"accepted": True}
