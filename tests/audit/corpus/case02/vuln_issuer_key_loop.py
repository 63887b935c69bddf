# expect: 2
"""Federated login: tokens may come from any of our identity providers."""

import jwt

from .config import load_issuer_keys

ISSUER_KEYS = load_issuer_keys()  # {"https://idp-a...": pem, "https://idp-b...": pem}


def verify_federated(token: str) -> dict:
    last_error: Exception | None = None
    for issuer, public_key in ISSUER_KEYS.items():
        try:
            return jwt.decode(
                token, public_key, algorithms=["ES256"], issuer=issuer, audience="portal"
            )
        except jwt.InvalidTokenError as exc:
            last_error = exc
    raise PermissionError("token not accepted") from last_error
