# expect: 3
"""Accepts signed device reports; the device signs its JSON with Ed25519."""

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, HTTPException, Request

from .devices import public_key_bytes, store_report

app = FastAPI()


@app.post("/devices/{device}/reports")
async def device_report(device: str, request: Request) -> dict:
    report = await request.json()
    signature = base64.b64decode(request.headers["x-device-signature"])
    canonical = json.dumps(report, sort_keys=True, separators=(",", ":")).encode()
    try:
        Ed25519PublicKey.from_public_bytes(public_key_bytes(device)).verify(signature, canonical)
    except InvalidSignature:
        raise HTTPException(status_code=401, detail="unauthorized") from None
    store_report(device, report)
    return {"stored": True}
