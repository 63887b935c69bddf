# expect: 6
"""Receives delivery-status callbacks from the SMS provider."""

import hashlib
import hmac

from flask import Flask, abort, request

app = Flask(__name__)
SMS_WEBHOOK_SECRET = b"FAKE-sms-webhook-secret-for-docs-000000"


@app.post("/callbacks/sms")
def sms_status():
    digest = hmac.new(SMS_WEBHOOK_SECRET, request.get_data(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, request.headers.get("X-SMS-Signature", "")):
        abort(401)
    status = request.get_json()
    return {"message": status["message_id"], "state": status["state"]}
