# expect: none
"""Verifies ID tokens from our single OpenID provider."""

import jwt
from jwt import PyJWKClient

ISSUER = "https://login.example.test/"
AUDIENCE = "web-portal"
_jwks = PyJWKClient(f"{ISSUER}.well-known/jwks.json", cache_keys=True, lifespan=300)


def verify_id_token(token: str) -> dict:
    signing_key = _jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub"]},
    )
