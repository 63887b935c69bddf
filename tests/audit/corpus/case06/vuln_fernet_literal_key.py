# expect: 6
"""Encrypts third-party OAuth tokens before saving them."""

from cryptography.fernet import Fernet

from .models import Connection

_vault = Fernet(b"ZmFrZS1rZXktZm9yLWRvY3Mtbm90LWEtcmVhbC1vbmU=")


def save_connection(provider: str, access_token: str, refresh_token: str) -> Connection:
    return Connection.objects.create(
        provider=provider,
        access_token=_vault.encrypt(access_token.encode()),
        refresh_token=_vault.encrypt(refresh_token.encode()),
    )


def access_token_of(connection: Connection) -> str:
    return _vault.decrypt(connection.access_token).decode()
