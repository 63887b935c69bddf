# expect: 5
"""Git hosting push webhooks trigger CI builds."""

import hashlib
import hmac
import os

from flask import Flask, abort, request

from .ci import enqueue_build

app = Flask(__name__)
HOOK_SECRET = os.environ["GIT_HOOK_SECRET"].encode()


@app.post("/hooks/push")
def on_push():
    sent = request.headers.get("X-Hub-Signature-256", "")
    digest = "sha256=" + hmac.new(HOOK_SECRET, request.get_data(), hashlib.sha256).hexdigest()
    if digest != sent:
        abort(401)
    event = request.get_json()
    enqueue_build(event["repository"]["full_name"], event["after"])
    return "", 204
