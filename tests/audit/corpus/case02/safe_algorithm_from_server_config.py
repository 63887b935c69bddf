# expect: none
"""Access tokens: algorithm and key both come from server configuration."""

from dataclasses import dataclass

import jwt


@dataclass(frozen=True)
class TokenSettings:
    algorithm: str
    verifying_key: str
    audience: str


class AccessTokenVerifier:
    def __init__(self, settings: TokenSettings) -> None:
        self._settings = settings

    def verify(self, token: str) -> dict:
        s = self._settings
        return jwt.decode(token, s.verifying_key, algorithms=[s.algorithm], audience=s.audience)

    def subject(self, token: str) -> str:
        claims = self.verify(token)
        return str(claims["sub"])
