# expect: 4
"""Signed download URLs for invoices."""

import hashlib
import hmac
import os
from datetime import datetime, timedelta

from flask import Flask, abort, request, send_file

app = Flask(__name__)
URL_KEY = os.environ["INVOICE_URL_KEY"].encode()


def sign_url(invoice: str, ttl: timedelta = timedelta(minutes=15)) -> str:
    expires = int((datetime.utcnow() + ttl).timestamp())
    sig = hmac.new(URL_KEY, f"{invoice}:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"/invoices/{invoice}.pdf?expires={expires}&sig={sig}"


@app.get("/invoices/<invoice>.pdf")
def download(invoice: str):
    expires = request.args.get("expires", "0")
    expected = hmac.new(URL_KEY, f"{invoice}:{expires}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.args.get("sig", "")):
        abort(403)
    if datetime.fromtimestamp(int(expires)) < datetime.now():
        abort(410)
    return send_file(f"/srv/invoices/{invoice}.pdf")
