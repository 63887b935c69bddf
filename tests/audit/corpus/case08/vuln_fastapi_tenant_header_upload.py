# expect: 8
"""Upload API for the multi-tenant file drop."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Header, UploadFile

from .storage import save_object

app = FastAPI()
_cipher = AESGCM(bytes.fromhex(os.environ["FILE_DROP_KEY"]))


@app.post("/files")
async def upload(file: UploadFile, x_tenant_id: str = Header()) -> dict:
    data = await file.read()
    nonce = os.urandom(12)
    sealed = _cipher.encrypt(nonce, data, file.filename.encode())
    key = save_object(x_tenant_id, file.filename, nonce + sealed)
    return {"object": key}
