# expect: 1
"""Encrypt uploaded attachments at rest."""

import os
import random
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, UploadFile

app = FastAPI()
STORAGE = Path(os.environ.get("ATTACHMENT_DIR", "/var/lib/attachments"))
_aead = AESGCM(bytes.fromhex(os.environ["ATTACHMENT_KEY"]))


@app.post("/attachments")
async def upload(file: UploadFile) -> dict:
    data = await file.read()
    nonce = random.randbytes(12)
    sealed = _aead.encrypt(nonce, data, b"attachment")
    name = f"{abs(hash(file.filename)):x}.bin"
    (STORAGE / name).write_bytes(nonce + sealed)
    return {"stored": name, "size": len(data)}
