"""The per-algorithm signing layer: Wycheproof conformance and encoding rules.

Wycheproof files (tests/vectors/wycheproof/, Apache-2.0) run through `_signing`:

- `ed25519_test.json`: all 151 cases.
- `ecdsa_secp256r1_sha256_p1363_test.json`: all 262 cases (includes r = 0 / s = 0, the
  "psychic signature" CVE-2022-21449, and r or s >= n).
- `hmac_sha256_test.json`: 84 of 174 cases. Not applicable by design: 87 cases with
  128-bit (truncated) tags, since HS256 (RFC 7518 §3.2) uses the full 256-bit tag and
  our layer accepts no other length; and 3 cases with 128-bit keys and full tags, since
  an HS256 key has at least 256 bits here (the layer refuses such keys, checked below).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_der_public_key

from cryptorails import Algorithm, Keyring
from cryptorails.context import Context
from cryptorails.secret import Secret
from cryptorails.tokens import _signing
from cryptorails.tokens._signing import (
    b64u_decode,
    b64u_encode,
    ecdsa_p256_key,
    ed25519_key,
    hs256_key,
    key_for,
    sign,
)

WYCHEPROOF = Path(__file__).resolve().parent.parent / "vectors" / "wycheproof"


def _cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((WYCHEPROOF / name).read_text(encoding="utf-8"))
    cases = [(g, t) for g in data["testGroups"] for t in g["tests"]]
    assert len(cases) == data["numberOfTests"]
    return cases


ED25519 = _cases("ed25519_test.json")
ECDSA = _cases("ecdsa_secp256r1_sha256_p1363_test.json")
HMAC = _cases("hmac_sha256_test.json")
HMAC_RUN = [(g, t) for g, t in HMAC if g["tagSize"] == 256 and g["keySize"] >= 256]
HMAC_SHORT_TAG = [(g, t) for g, t in HMAC if g["tagSize"] != 256]
HMAC_SHORT_KEY = [(g, t) for g, t in HMAC if g["tagSize"] == 256 and g["keySize"] < 256]


def test_vector_counts_are_pinned() -> None:
    # A lost or truncated file must not pass vacuously.
    assert len(ED25519) == 151
    assert len(ECDSA) == 262
    assert (len(HMAC_RUN), len(HMAC_SHORT_TAG), len(HMAC_SHORT_KEY)) == (84, 87, 3)
    assert sum(t["result"] == "invalid" for _, t in ECDSA) == 89
    assert sum(t["result"] == "invalid" for _, t in ED25519) == 63


@pytest.mark.parametrize(("group", "case"), ED25519, ids=lambda x: str(x.get("tcId", "")))
def test_wycheproof_ed25519(group: dict[str, Any], case: dict[str, Any]) -> None:
    public = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(group["publicKey"]["pk"]))
    ok = ed25519_key(public).verify(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
    assert ok is (case["result"] == "valid"), case["comment"]


@pytest.mark.parametrize(("group", "case"), ECDSA, ids=lambda x: str(x.get("tcId", "")))
def test_wycheproof_ecdsa_p256_p1363(group: dict[str, Any], case: dict[str, Any]) -> None:
    public = load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    ok = ecdsa_p256_key(public).verify(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
    assert ok is (case["result"] == "valid"), case["comment"]


@pytest.mark.parametrize(("group", "case"), HMAC_RUN, ids=lambda x: str(x.get("tcId", "")))
def test_wycheproof_hmac_sha256(group: dict[str, Any], case: dict[str, Any]) -> None:
    key = hs256_key(Secret(bytes.fromhex(case["key"])))
    ok = key.verify(bytes.fromhex(case["tag"]), bytes.fromhex(case["msg"]))
    assert ok is (case["result"] == "valid"), case["comment"]


def test_hmac_short_keys_and_truncated_tags_are_refused() -> None:
    for _, case in HMAC_SHORT_KEY:
        with pytest.raises(ValueError, match="at least 32 bytes"):
            hs256_key(Secret(bytes.fromhex(case["key"])))
    # A truncated tag never verifies, even when it is a correct prefix.
    for group, case in HMAC_SHORT_TAG:
        if group["keySize"] >= 256 and case["result"] == "valid":
            key = hs256_key(Secret(bytes.fromhex(case["key"])))
            assert not key.verify(bytes.fromhex(case["tag"]), bytes.fromhex(case["msg"]))


def test_ecdsa_psychic_signature_and_wrong_lengths() -> None:
    kr = Keyring.in_memory()
    key = kr.create_keyset(Context("t", "p"), algorithm=Algorithm.ES256).primary
    vk = key_for(key)
    good = sign(key, b"msg")
    assert len(good) == 64
    assert vk.verify(good, b"msg")
    n = _signing._P256_N
    for r, s in [(0, 0), (0, 1), (1, 0), (n, 1), (1, n), (n, n), (2**256 - 1, 1)]:
        assert not vk.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), b"msg")
    assert not vk.verify(good + b"\x00", b"msg")
    assert not vk.verify(good[:-1], b"msg")
    assert not vk.verify(b"", b"msg")


@pytest.mark.parametrize("algorithm", [Algorithm.ED25519, Algorithm.ES256, Algorithm.HS256])
def test_keyring_keys_sign_and_verify(algorithm: Algorithm) -> None:
    kr = Keyring.in_memory()
    key = kr.create_keyset(Context("t", "p"), algorithm=algorithm).primary
    signature = sign(key, b"data")
    assert len(signature) == (32 if algorithm is Algorithm.HS256 else 64)
    vk = key_for(key)
    assert vk.algorithm is algorithm
    assert key_for(key) is vk  # cached on the key snapshot
    assert vk.verify(signature, b"data")
    assert not vk.verify(signature, b"Data")
    assert not vk.verify(signature[:-1] + bytes([signature[-1] ^ 1]), b"data")


def test_aead_keys_cannot_sign_or_verify() -> None:
    key = Keyring.in_memory().keyset(Context("t", "p")).primary
    with pytest.raises(ValueError, match="cannot verify"):
        key_for(key)
    with pytest.raises(ValueError, match="no private key"):
        sign(key, b"data")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("AA", b"\x00"),
        ("AAA", b"\x00\x00"),
        ("Zm9v", b"foo"),
        ("-_8", b"\xfb\xff"),
        ("AB", None),  # non-zero unused bits: a second spelling of b"\x00"
        ("AAA=", None),  # padding
        ("A", None),  # impossible length
        ("Zm 9v", None),
        ("Zm9v\n", None),
        ("+/8", None),  # standard alphabet
        ("Zm9v?", None),
        ("Zm9ü", None),
    ],
)
def test_strict_base64url(text: str, expected: bytes | None) -> None:
    assert b64u_decode(text) == expected
    if expected is not None:
        assert b64u_encode(expected) == text
