# expect: 6
"""Issues and checks the access tokens of the mobile API."""

from datetime import UTC, datetime, timedelta

import jwt

JWT_SECRET = "dev-only-secret-do-not-use-0000"
JWT_ALGORITHM = "HS256"
ACCESS_TTL = timedelta(minutes=15)


def issue_access_token(subject: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + ACCESS_TTL, "aud": "mobile"}
    return jwt.encode(claims, JWT_SECRET, algorithm=JWT_ALGORITHM)


def verify_access_token(token: str) -> str:
    claims = jwt.decode(token, JWT_SECRET, algorithms=[JWT_ALGORITHM], audience="mobile")
    return claims["sub"]
