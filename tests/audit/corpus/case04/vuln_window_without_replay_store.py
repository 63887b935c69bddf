# expect: 4
"""Slash-command endpoint for the team chat."""

import hashlib
import hmac
import os
import time

from flask import Flask, abort, request

from .commands import run_command

app = Flask(__name__)
SIGNING_SECRET = os.environ["CHAT_SIGNING_SECRET"].encode()
MAX_AGE = 60 * 5


@app.post("/chat/commands")
def chat_command():
    timestamp = request.headers["X-Request-Timestamp"]
    if abs(time.time() - int(timestamp)) > MAX_AGE:
        abort(403)
    basestring = b"v0:" + timestamp.encode() + b":" + request.get_data()
    digest = "v0=" + hmac.new(SIGNING_SECRET, basestring, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, request.headers.get("X-Signature", "")):
        abort(403)
    # e.g. "/deploy api production" runs once per (valid, recent) request
    return run_command(request.form["command"], request.form["text"])
