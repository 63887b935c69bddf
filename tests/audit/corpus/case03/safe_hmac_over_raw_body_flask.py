# expect: none
"""Order status callbacks: the MAC covers the bytes we received, and we parse those."""

import hashlib
import hmac
import json
import os

from flask import Flask, abort, request

from .orders import mark_shipped

app = Flask(__name__)
PARTNER_SECRET = os.environ["FULFILMENT_HMAC_SECRET"].encode()


@app.post("/callbacks/fulfilment")
def fulfilment_callback():
    raw = request.get_data(cache=False)
    signature = request.headers.get("X-Partner-Signature", "")
    expected = hmac.new(PARTNER_SECRET, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        abort(401)
    payload = json.loads(raw)
    if payload["status"] == "shipped":
        mark_shipped(payload["order"], payload["tracking"])
    return {"ok": True}
