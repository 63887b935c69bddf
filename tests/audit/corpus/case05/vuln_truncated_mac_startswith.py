# expect: 5
"""Unsubscribe links carry a short MAC so they fit in plain-text e-mails."""

import hashlib
import hmac
import os

from flask import Flask, abort, request

from .subscriptions import unsubscribe

app = Flask(__name__)
LINK_KEY = os.environ["UNSUBSCRIBE_LINK_KEY"].encode()


def link_mac(address: str) -> str:
    return hmac.new(LINK_KEY, address.lower().encode(), hashlib.sha256).hexdigest()


@app.get("/unsubscribe")
def unsubscribe_link():
    address = request.args.get("e", "")
    short_mac = request.args.get("m", "")
    if len(short_mac) < 16 or not link_mac(address).startswith(short_mac):
        abort(404)
    unsubscribe(address)
    return "You have been unsubscribed."
