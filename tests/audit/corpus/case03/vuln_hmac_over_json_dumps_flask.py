# expect: 3
"""Order status callbacks from the fulfilment partner."""

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
    payload = request.get_json(force=True)
    signature = request.headers.get("X-Partner-Signature", "")
    expected = hmac.new(PARTNER_SECRET, json.dumps(payload).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        abort(401)
    if payload["status"] == "shipped":
        mark_shipped(payload["order"], payload["tracking"])
    return {"ok": True}
