# expect: 5
"""Signed 'remember me' cookie."""

import base64
import hashlib
import hmac
import os

REMEMBER_KEY = base64.b64decode(os.environ["REMEMBER_COOKIE_KEY"])


def make_cookie(username: str) -> str:
    mac = hmac.new(REMEMBER_KEY, username.encode(), hashlib.sha256).digest()
    return f"{username}|{base64.b64encode(mac).decode()}"


def read_cookie(cookie: str) -> str | None:
    username, _, encoded = cookie.rpartition("|")
    mac = base64.b64decode(encoded)
    if hmac.new(REMEMBER_KEY, username.encode(), hashlib.sha256).digest() == mac:
        return username
    return None
