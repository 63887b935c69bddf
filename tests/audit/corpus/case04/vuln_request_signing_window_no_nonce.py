# expect: 4
"""Request signing for the internal ledger API (a SigV4-like scheme)."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request

SKEW = timedelta(minutes=15)


class LedgerRequestVerifier:
    def __init__(self, secrets_by_client: dict[str, bytes]) -> None:
        self._secrets = secrets_by_client

    async def __call__(self, request: Request) -> str:
        client = request.headers["X-Client"]
        sent = datetime.fromisoformat(request.headers["X-Date"])
        if abs(datetime.now(UTC) - sent) > SKEW:
            raise HTTPException(status_code=401, detail="unauthorized")
        body = await request.body()
        canonical = "\n".join(
            [request.method, request.url.path, request.headers["X-Date"],
             hashlib.sha256(body).hexdigest()]
        ).encode()
        expected = hmac.new(self._secrets[client], canonical, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
            raise HTTPException(status_code=401, detail="unauthorized")
        return client
