# expect: none
"""Session token verification: one answer for every failure; the cause is logged internally."""

import base64
import hashlib
import hmac
import json
import logging
import time

from fastapi import HTTPException

from .keys import session_key

log = logging.getLogger(__name__)
UNAUTHORIZED = HTTPException(status_code=401, detail="unauthorized")


def verify_session_token(token: str) -> dict:
    reason = None
    claims: dict = {}
    try:
        body, tag = token.split(".")
        expected = hmac.new(session_key(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, base64.urlsafe_b64decode(tag + "==")):
            reason = "bad_tag"
        else:
            claims = json.loads(base64.urlsafe_b64decode(body + "=="))
            if claims["exp"] < time.time():
                reason = "expired"
    except (ValueError, KeyError):
        reason = "malformed"
    if reason is not None:
        log.info("session token rejected", extra={"reason": reason})
        raise UNAUTHORIZED
    return claims
