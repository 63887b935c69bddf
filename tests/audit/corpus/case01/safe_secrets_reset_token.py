# expect: none
"""Password reset tokens from the secrets module."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from .models import PasswordReset, db

TOKEN_BYTES = 32
RESET_TTL = timedelta(minutes=30)


def issue_reset(user) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = hashlib.sha256(token.encode()).hexdigest()
    db.session.add(
        PasswordReset(
            user=user,
            token_sha256=digest,
            expires_at=datetime.now(UTC) + RESET_TTL,
        )
    )
    db.session.commit()
    return token


def new_signing_key() -> bytes:
    return secrets.token_bytes(32)
