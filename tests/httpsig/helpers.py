"""The RFC 9421 Appendix B test data, loaded from tests/vectors/rfc9421/."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)

from cryptorails.httpsig import HttpMessage, SignatureKey
from cryptorails.secret import Secret

VECTORS = Path(__file__).parent.parent / "vectors" / "rfc9421"
EXAMPLES: dict[str, Any] = json.loads((VECTORS / "examples.json").read_text())
CREATED = datetime.fromtimestamp(1618884473, UTC)
ALGORITHMS = {
    "test-key-rsa-pss": "rsa-pss-sha512",
    "test-key-ecc-p256": "ecdsa-p256-sha256",
    "test-key-ed25519": "ed25519",
    "test-key-rsa": "rsa-v1_5-sha256",
}


def shared_secret() -> Secret:
    return Secret(base64.b64decode(EXAMPLES["shared_secret_b64"]))


def public_keys() -> dict[str, SignatureKey]:
    """The trusted keyset: B.1.1-B.1.4 public keys and the B.1.5 shared secret."""
    keys = {
        kid: SignatureKey(alg, load_pem_public_key((VECTORS / f"{kid}.pem").read_bytes()))
        for kid, alg in ALGORITHMS.items()
    }
    keys["test-shared-secret"] = SignatureKey("hmac-sha256", shared_secret())
    return keys


def private_key(kid: str) -> SignatureKey:
    if kid == "test-shared-secret":
        return SignatureKey("hmac-sha256", shared_secret())
    private = load_pem_private_key((VECTORS / f"{kid}.key").read_bytes(), None)
    return SignatureKey(ALGORITHMS[kid], private)  # type: ignore[arg-type]


def request() -> HttpMessage:
    r = EXAMPLES["request"]
    return HttpMessage(
        method=r["method"],
        target_uri=r["url"],
        headers=tuple(r["headers"].items()),
        body=r["body"].encode(),
    )


def response() -> HttpMessage:
    r = EXAMPLES["response"]
    return HttpMessage(
        status=r["status"], headers=tuple(r["headers"].items()), body=r["body"].encode()
    )


def example(example_id: str) -> dict[str, Any]:
    return next(e for e in EXAMPLES["examples"] if e["id"] == example_id)


def signed(example_id: str) -> HttpMessage:
    e = example(example_id)
    message = request() if e["message"] == "request" else response()
    return message.with_headers(
        {"Signature-Input": e["signature_input"], "Signature": e["signature"]}
    )
