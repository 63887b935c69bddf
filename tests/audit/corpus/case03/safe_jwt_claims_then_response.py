# expect: none
"""Token introspection endpoint: returns the verified claims as JSON."""

import json
import os

import jwt
from flask import Flask, Response, request

app = Flask(__name__)
_VERIFY_KEY = os.environ["INTROSPECT_PUBLIC_KEY"]


@app.post("/introspect")
def introspect():
    token = request.form.get("token", "")
    try:
        claims = jwt.decode(token, _VERIFY_KEY, algorithms=["ES256"], audience="api")
    except jwt.InvalidTokenError:
        return Response(json.dumps({"active": False}), mimetype="application/json")
    body = {"active": True, "sub": claims["sub"], "scope": claims.get("scope", "")}
    return Response(json.dumps(body), mimetype="application/json")
