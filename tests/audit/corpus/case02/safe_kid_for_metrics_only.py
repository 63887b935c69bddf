# expect: none
"""Verifier with one fixed key; the kid header is only counted, never used."""

import os
from collections import Counter

import jwt

PUBLIC_KEY = os.environ["PARTNER_PUBLIC_KEY_PEM"]
rejected_by_kid: Counter[str] = Counter()


def verify_partner_token(token: str) -> dict:
    try:
        return jwt.decode(token, PUBLIC_KEY, algorithms=["EdDSA"], audience="partner-api")
    except jwt.InvalidTokenError:
        # Unverified, so only good for a metric label: which client keeps sending bad tokens.
        try:
            label = str(jwt.get_unverified_header(token).get("kid", "none"))[:32]
        except jwt.DecodeError:
            label = "malformed"
        rejected_by_kid[label] += 1
        raise
