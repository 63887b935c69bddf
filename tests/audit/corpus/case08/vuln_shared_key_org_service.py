# expect: 8
"""Secrets manager feature: each organisation stores its CI variables with us."""

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VARIABLES_KEY = base64.b64decode(os.environ["CI_VARIABLES_KEY"])


class CiVariableService:
    def __init__(self, repository) -> None:
        self._repo = repository
        self._aead = AESGCM(VARIABLES_KEY)

    def set_variable(self, org_id: str, name: str, value: str) -> None:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), f"ci-var:{name}".encode())
        self._repo.upsert(org_id, name, nonce + sealed)

    def get_variable(self, org_id: str, name: str) -> str:
        blob = self._repo.fetch(org_id, name)
        return self._aead.decrypt(blob[:12], blob[12:], f"ci-var:{name}".encode()).decode()
