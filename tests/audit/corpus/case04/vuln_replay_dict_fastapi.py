# expect: 4
"""Signed command API for the warehouse robots."""

import base64
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, Header, HTTPException, Request

from .fleet import controller_public_key, execute

app = FastAPI()
WINDOW_SECONDS = 120
_recent_nonces: dict[str, float] = {}


@app.post("/commands")
async def command(request: Request, x_nonce: str = Header(), x_sent_at: int = Header(),
                  x_signature: str = Header()) -> dict:
    body = await request.body()
    if abs(time.time() - x_sent_at) > WINDOW_SECONDS:
        raise HTTPException(status_code=401, detail="unauthorized")
    message = f"{x_nonce}|{x_sent_at}|".encode() + body
    try:
        controller_public_key().verify(base64.b64decode(x_signature), message)
    except InvalidSignature:
        raise HTTPException(status_code=401, detail="unauthorized") from None
    now = time.time()
    for nonce, seen in list(_recent_nonces.items()):
        if now - seen > WINDOW_SECONDS:
            del _recent_nonces[nonce]
    if x_nonce in _recent_nonces:
        raise HTTPException(status_code=401, detail="unauthorized")
    _recent_nonces[x_nonce] = now
    return execute(body)
