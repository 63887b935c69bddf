# expect: 5
"""Signed internal RPC calls between the billing workers."""

import hashlib as _hashlib
import hmac as _hmac
import os

_RPC_KEY = bytes.fromhex(os.environ["BILLING_RPC_KEY"])


def sign_call(method: str, body: bytes) -> str:
    return _hmac.new(_RPC_KEY, method.encode() + b"\n" + body, _hashlib.sha256).hexdigest()


def accept_call(method: str, body: bytes, tag: str) -> bool:
    mac = sign_call(method, body)
    return mac == tag
