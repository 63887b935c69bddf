# expect: none
"""Conditional GET for the product catalogue export."""

import hashlib

from flask import Flask, Response, request

from .catalogue import export_json

app = Flask(__name__)


def etag_for(payload: bytes) -> str:
    return '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'


@app.get("/catalogue.json")
def catalogue():
    payload = export_json()
    etag = etag_for(payload)
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers={"ETag": etag})
    return Response(payload, mimetype="application/json", headers={"ETag": etag})
