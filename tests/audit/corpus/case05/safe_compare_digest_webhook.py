# expect: none
"""Git hosting push webhooks, compared in constant time."""

import hashlib
import hmac
import os

from flask import Flask, abort, request

from .ci import enqueue_build

app = Flask(__name__)
HOOK_SECRET = os.environ["GIT_HOOK_SECRET"].encode()
SIGNATURE_HEADER = "X-Hub-Signature-256"


@app.post("/hooks/push")
def on_push():
    sent = request.headers.get(SIGNATURE_HEADER, "")
    digest = "sha256=" + hmac.new(HOOK_SECRET, request.get_data(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, sent):
        abort(401)
    event = request.get_json()
    if event.get("ref") == "refs/heads/main":
        enqueue_build(event["repository"]["full_name"], event["after"])
    return "", 204
