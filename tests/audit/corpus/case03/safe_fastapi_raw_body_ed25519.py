# expect: none
"""Signed device reports: verify the received bytes, then parse exactly those bytes."""

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from .devices import public_key_bytes, store_report

app = FastAPI()


class Report(BaseModel):
    battery: float
    firmware: str
    readings: list[float]


@app.post("/devices/{device}/reports")
async def device_report(device: str, request: Request) -> dict:
    raw = await request.body()
    signature = base64.b64decode(request.headers["x-device-signature"])
    try:
        Ed25519PublicKey.from_public_bytes(public_key_bytes(device)).verify(signature, raw)
    except InvalidSignature:
        raise HTTPException(status_code=401, detail="unauthorized") from None
    store_report(device, Report.model_validate_json(raw))
    return {"stored": True}
