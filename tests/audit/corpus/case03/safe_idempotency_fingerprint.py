# expect: none
"""Idempotency keys: a repeated key with a different request body is a client error."""

import hashlib
import json

from fastapi import HTTPException


def body_fingerprint(body: dict) -> str:
    # Only detects accidental reuse of a key with another body; not an authentication check.
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_idempotency(store, key: str, body: dict):
    fingerprint = body_fingerprint(body)
    previous = store.get(key)
    if previous is None:
        store.put(key, {"fingerprint": fingerprint, "response": None})
        return None
    if previous["fingerprint"] != fingerprint:
        raise HTTPException(status_code=422, detail="idempotency key reused with another body")
    return previous["response"]
