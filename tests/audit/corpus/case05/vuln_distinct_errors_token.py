# expect: 5
"""Verifies the session tokens issued by the auth service."""

import base64
import hashlib
import hmac
import json
import time

from fastapi import HTTPException

from .keys import session_key


def verify_session_token(token: str) -> dict:
    try:
        body, tag = token.split(".")
    except ValueError:
        raise HTTPException(status_code=400, detail="malformed token") from None
    expected = hmac.new(session_key(), body.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, base64.urlsafe_b64decode(tag + "==")):
        raise HTTPException(status_code=401, detail="signature mismatch")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    if claims["exp"] < time.time():
        raise HTTPException(status_code=419, detail="token expired")
    if claims.get("aud") != "web":
        raise HTTPException(status_code=403, detail="token issued for another audience")
    return claims
