# expect: none
"""Short-lived download links signed with one HMAC key."""

import os
from datetime import UTC, datetime, timedelta

import jwt

_SIGNING_KEY = os.environ["DOWNLOAD_LINK_KEY"]
ALGORITHM = "HS256"


def issue_link_token(file_id: str, ttl: timedelta = timedelta(minutes=10)) -> str:
    now = datetime.now(UTC)
    claims = {"file": file_id, "iat": now, "exp": now + ttl, "aud": "downloads"}
    return jwt.encode(claims, _SIGNING_KEY, algorithm=ALGORITHM)


def verify_link_token(token: str) -> str:
    claims = jwt.decode(token, _SIGNING_KEY, algorithms=[ALGORITHM], audience="downloads")
    return claims["file"]
