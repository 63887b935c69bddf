# expect: none
"""Issues and checks the access tokens of the mobile API; the key comes from the environment."""

import os
from datetime import UTC, datetime, timedelta

import jwt

JWT_ALGORITHM = "HS256"
ACCESS_TTL = timedelta(minutes=15)


def _signing_key() -> str:
    try:
        return os.environ["MOBILE_JWT_KEY"]
    except KeyError:
        raise RuntimeError("MOBILE_JWT_KEY is not set") from None


def issue_access_token(subject: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + ACCESS_TTL, "aud": "mobile"}
    return jwt.encode(claims, _signing_key(), algorithm=JWT_ALGORITHM)


def verify_access_token(token: str) -> str:
    claims = jwt.decode(token, _signing_key(), algorithms=[JWT_ALGORITHM], audience="mobile")
    return claims["sub"]
