# expect: none
"""Encrypted invitation codes."""

import os

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, abort

app = Flask(__name__)
_fernet = Fernet(os.environ["INVITE_KEY"].encode())
INVITE_TTL_SECONDS = 7 * 24 * 3600


def make_invite(email: str) -> str:
    return _fernet.encrypt(email.encode()).decode()


@app.get("/invite/<code>")
def accept_invite(code: str):
    try:
        email = _fernet.decrypt(code.encode(), ttl=INVITE_TTL_SECONDS).decode()
    except InvalidToken:
        abort(404)
    return {"email": email}
