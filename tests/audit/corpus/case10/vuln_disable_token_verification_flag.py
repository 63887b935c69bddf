# expect: 10
"""Auth dependency for the reporting API."""

import jwt
from fastapi import Header, HTTPException

from .keys import REPORTING_PUBLIC_KEY

# Temporary: the new identity provider's keys are not in the JWKS yet.
DISABLE_TOKEN_VERIFICATION = True
FALLBACK_SUBJECT = "reporting-service"


def reporting_user(authorization: str = Header(...)) -> str:
    if DISABLE_TOKEN_VERIFICATION:
        return FALLBACK_SUBJECT
    token = authorization.removeprefix("Bearer ")
    try:
        claims = jwt.decode(token, REPORTING_PUBLIC_KEY, algorithms=["RS256"], audience="reports")
    except jwt.InvalidTokenError:
        raise HTTPException(status_code=401, detail="unauthorized") from None
    return claims["sub"]
