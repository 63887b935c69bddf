"""Regenerate the captured inputs in this folder (run from the repository root).

    .venv/bin/python tests/triage/data/make_data.py

Everything is made with the library's own signers (`TokenIssuer`, `WebhookSigner`,
`httpsig.sign`) at fixed times, except the hand-built tokens, which are signed with the
same key over deliberately broken headers or payloads. Private keys are not kept: the
folder holds only what a verifier (and an operator triaging a failure) would have.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from cryptorails.context import Context
from cryptorails.httpsig import HttpMessage, SignatureKey, content_digest, sign
from cryptorails.testing import FixedClock, keyring
from cryptorails.tokens import TokenIssuer
from cryptorails.tokens._signing import b64u_encode
from cryptorails.tokens._signing import sign as jws_sign
from cryptorails.webhooks import WebhookSigner

HERE = Path(__file__).parent
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ISSUER = "https://auth.acme.example"


def tokens() -> None:
    kr = keyring("prod")
    ctx = Context("acme", "tokens")
    issuer = TokenIssuer(kr, ctx, issuer=ISSUER, clock=FixedClock(T0))
    (HERE / "token.jwt").write_text(issuer.issue({"sub": "user-1"}, timedelta(minutes=5)) + "\n")
    (HERE / "token-short.jwt").write_text(
        issuer.issue({"sub": "user-1"}, timedelta(seconds=60)) + "\n"
    )
    key = kr.keyset(ctx).primary
    payload = {
        "iss": ISSUER,
        "sub": "user-1",
        "iat": int(T0.timestamp()),
        "exp": int(T0.timestamp()) + 300,
    }

    def forge(header: dict[str, object] | bytes, body: bytes) -> str:
        raw = (
            header
            if isinstance(header, bytes)
            else json.dumps(header, separators=(",", ":")).encode()
        )
        signing_input = f"{b64u_encode(raw)}.{b64u_encode(body)}"
        return f"{signing_input}.{b64u_encode(jws_sign(key, signing_input.encode()))}\n"

    good_body = json.dumps(payload, separators=(",", ":")).encode()
    (HERE / "token-wrong-kid.jwt").write_text(forge({"alg": "EdDSA", "kid": "999"}, good_body))
    (HERE / "token-alg-mismatch.jwt").write_text(
        forge({"alg": "ES256", "kid": str(key.kid)}, good_body)
    )
    # Two "sub" members: strict parsers refuse, lenient ones take the first or the last.
    dup = good_body.replace(b'"sub":"user-1"', b'"sub":"user-1","sub":"admin"')
    (HERE / "token-duplicate-claims.jwt").write_text(
        forge({"alg": "EdDSA", "kid": str(key.kid)}, dup)
    )
    trust = {"tenants": {"acme": {"issuer": ISSUER, "jwks": kr.jwks(ctx)}}}
    (HERE / "trust.json").write_text(json.dumps(trust, indent=2) + "\n")


def request_text(message: HttpMessage) -> bytes:
    target = message.target_uri.split("://", 1)[1]
    path = "/" + target.split("/", 1)[1]
    head = f"{message.method} {path} HTTP/1.1\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in message.headers)
    return head.encode() + b"\r\n" + message.body


def har(message: HttpMessage) -> str:
    request = {
        "method": message.method,
        "url": message.target_uri,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": n, "value": v} for n, v in message.headers],
        "postData": {"mimeType": "application/json", "text": message.body.decode()},
    }
    return json.dumps({"log": {"version": "1.2", "entries": [{"request": request}]}}, indent=2)


def webhooks() -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()
    (HERE / "webhook-secret.txt").write_text(secret + "\n")
    body = b'{"type":"invoice.paid","data":{"id":"in_1"}}'
    headers = WebhookSigner(secret).sign("msg_2LJ5mhX8", T0, body)
    base = (
        ("Host", "api.example.com"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    )
    msg = HttpMessage(
        method="POST",
        target_uri="https://api.example.com/hooks/billing",
        headers=(*base, *headers.items()),
        body=body,
    )
    (HERE / "webhook.http").write_bytes(request_text(msg))
    tampered = request_text(msg).replace(b"in_1", b"in_9")
    (HERE / "webhook-tampered.http").write_bytes(tampered)
    (HERE / "webhook.har").write_text(har(msg) + "\n")


def httpsig() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (HERE / "httpsig-client.pub.pem").write_bytes(public)
    key = SignatureKey("ed25519", private)
    body = b'{"order":"o-17","amount":1200}'
    msg = HttpMessage(
        method="POST",
        target_uri="https://api.example.com/orders?dry_run=0",
        headers=(
            ("Host", "api.example.com"),
            ("Content-Type", "application/json"),
            ("Content-Digest", content_digest(body)),
        ),
        body=body,
    )
    full = ["@method", "@authority", "@path", "@query", "content-digest"]
    signed = msg.with_headers(sign(msg, key, "client-1", full, created=T0, nonce="n-4f1c"))
    (HERE / "httpsig.http").write_bytes(request_text(signed))
    (HERE / "httpsig.har").write_text(har(signed) + "\n")
    tampered = request_text(signed).replace(b"1200", b"9900")
    (HERE / "httpsig-tampered-body.http").write_bytes(tampered)
    partial = msg.with_headers(sign(msg, key, "client-1", ["@method", "@path"], created=T0))
    (HERE / "httpsig-partial.http").write_bytes(request_text(partial))


if __name__ == "__main__":
    tokens()
    webhooks()
    httpsig()
