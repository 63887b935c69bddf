# expect: none
"""Pagination cursors: signed (not encrypted), and the tenant is part of what is signed."""

import base64
import hashlib
import hmac
import json
import os

_CURSOR_KEY = os.environ["CURSOR_SIGNING_KEY"].encode()


def make_cursor(tenant_id: str, last_seen: int) -> str:
    body = json.dumps({"t": tenant_id, "after": last_seen}, separators=(",", ":")).encode()
    tag = hmac.new(_CURSOR_KEY, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(tag + body).decode()


def read_cursor(tenant_id: str, cursor: str) -> int:
    raw = base64.urlsafe_b64decode(cursor)
    tag, body = raw[:16], raw[16:]
    expected = hmac.new(_CURSOR_KEY, body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(tag, expected):
        raise ValueError("invalid cursor")
    data = json.loads(body)
    if data["t"] != tenant_id:
        raise ValueError("invalid cursor")
    return int(data["after"])
