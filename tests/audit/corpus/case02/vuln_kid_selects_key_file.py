# expect: 2
"""Service-to-service JWT authentication."""

from pathlib import Path

import jwt
from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

KEY_DIR = Path("/etc/service-keys")
bearer = HTTPBearer()


def _public_key_for(token: str) -> bytes:
    header = jwt.get_unverified_header(token)
    kid = header["kid"]
    return (KEY_DIR / f"{kid}.pem").read_bytes()


def service_identity(creds: HTTPAuthorizationCredentials = Depends(bearer)) -> str:
    token = creds.credentials
    try:
        claims = jwt.decode(
            token, _public_key_for(token), algorithms=["ES256"], audience="inventory"
        )
    except (jwt.InvalidTokenError, OSError):
        raise HTTPException(status_code=401, detail="unauthorized") from None
    return claims["sub"]
