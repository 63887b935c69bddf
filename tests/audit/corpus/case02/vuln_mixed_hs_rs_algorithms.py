# expect: 2
"""Token verification shared by the web app and the partner API."""

from pathlib import Path

import jwt

PUBLIC_KEY = Path("/etc/auth/jwt-public.pem").read_text()
ACCEPTED_ALGORITHMS = ["RS256", "HS256"]


def verify_access_token(token: str) -> dict:
    return jwt.decode(
        token,
        PUBLIC_KEY,
        algorithms=ACCEPTED_ALGORITHMS,
        audience="api",
        issuer="https://auth.example.test",
        options={"require": ["exp", "sub"]},
    )


def user_id_from(token: str) -> str:
    return verify_access_token(token)["sub"]
