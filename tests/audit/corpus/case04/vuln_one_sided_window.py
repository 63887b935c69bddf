# expect: 4
"""Signed API requests from partner servers."""

import hashlib
import hmac
import time

from fastapi import HTTPException, Request

from .partners import partner_secret
from .redis_client import redis

TOLERANCE = 300


async def verify_partner_request(request: Request) -> str:
    partner = request.headers["X-Partner"]
    stamp = int(request.headers["X-Timestamp"])
    nonce = request.headers["X-Nonce"]
    if time.time() - stamp > TOLERANCE:
        raise HTTPException(status_code=401, detail="unauthorized")
    body = await request.body()
    message = f"{partner}\n{stamp}\n{nonce}\n".encode() + body
    tag = hmac.new(partner_secret(partner), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(tag, request.headers.get("X-Signature", "")):
        raise HTTPException(status_code=401, detail="unauthorized")
    if not await redis.set(f"partner-nonce:{partner}:{nonce}", 1, nx=True, ex=TOLERANCE):
        raise HTTPException(status_code=401, detail="unauthorized")
    return partner
