"""`Jwks.from_json`: the strict rules for a trusted issuer's key set."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
)

from cryptorails import Algorithm, ConfigurationError
from cryptorails.tokens import Jwks
from cryptorails.tokens._jwk import _has_roca_fingerprint

from .helpers import b64u, ec_jwk, okp_jwk, rsa_jwk, uint

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def _set(*keys: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(keys)}


def test_parses_each_supported_key_type() -> None:
    jwks = Jwks.from_json(
        _set(
            rsa_jwk(RSA_KEY, "RS256", "r1"),
            rsa_jwk(RSA_KEY, "PS256", "r2"),
            ec_jwk(EC_KEY, "e1"),
            okp_jwk(ED_KEY, "o1"),
        )
    )
    assert jwks.kids == ("r1", "r2", "e1", "o1")
    algorithms = [k.algorithm for k in jwks._keys]
    assert algorithms == [Algorithm.RS256, Algorithm.PS256, Algorithm.ES256, Algorithm.ED25519]
    assert len(jwks) == 4
    assert repr(jwks) == "Jwks(r1:RS256, r2:PS256, e1:ES256, o1:EdDSA)"


def test_parses_text_and_bytes_strictly() -> None:
    text = json.dumps(_set(ec_jwk(EC_KEY)))
    assert Jwks.from_json(text).kids == ("ec-1",)
    assert Jwks.from_json(text.encode()).kids == ("ec-1",)
    with pytest.raises(ConfigurationError, match="strict JSON"):
        Jwks.from_json('{"keys": [], "keys": []}')
    with pytest.raises(TypeError):
        Jwks.from_json([1])  # type: ignore[arg-type]
    for bad in ({}, {"keys": {}}, {"keys": []}, {"keys": [1]}, "[1]"):
        with pytest.raises(ConfigurationError):
            Jwks.from_json(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_private_members_are_refused(member: str) -> None:
    with pytest.raises(ConfigurationError, match="private key members"):
        Jwks.from_json(_set({**rsa_jwk(RSA_KEY), member: "AQAB"}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"use": "enc"}, "'use'"),
        ({"key_ops": ["encrypt"]}, "key_ops"),
        ({"key_ops": ["verify", "verify"]}, "key_ops"),
        ({"key_ops": "verify"}, "key_ops"),
        ({"alg": "ES384"}, "does not fit"),
        ({"alg": "HS256"}, "does not fit"),
        ({"crv": "P-384"}, "P-256"),
        ({"x": ec_jwk(EC_KEY)["x"] + "="}, "base64url"),
        ({"y": b64u(b"\x01" * 32)}, "invalid EC key"),  # not on the curve
        ({"x": b64u(b"\x01" * 31)}, "32 bytes"),
        ({"kid": ""}, "non-empty"),
        ({"kid": 7}, "non-empty"),
        ({"kty": "RSA"}, "'alg'"),
    ],
)
def test_ec_key_rules(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Jwks.from_json(_set({**ec_jwk(EC_KEY), **change}))


def test_use_and_key_ops_that_allow_verify_are_accepted() -> None:
    jwk = {**ec_jwk(EC_KEY), "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256"}
    assert Jwks.from_json(_set(jwk)).kids == ("ec-1",)


def test_rsa_rules() -> None:
    with pytest.raises(ConfigurationError, match="'alg' is missing"):
        Jwks.from_json(_set({k: v for k, v in rsa_jwk(RSA_KEY).items() if k != "alg"}))
    with pytest.raises(ConfigurationError, match="does not fit"):
        Jwks.from_json(_set(rsa_jwk(RSA_KEY, "RS384")))
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigurationError, match="2048 to 8192 bits"):
        Jwks.from_json(_set(rsa_jwk(small)))
    with pytest.raises(ConfigurationError, match="invalid modulus or exponent"):
        Jwks.from_json(_set({**rsa_jwk(RSA_KEY), "e": uint(1)}))
    with pytest.raises(ConfigurationError, match="minimal"):
        Jwks.from_json(_set({**rsa_jwk(RSA_KEY), "e": b64u(b"\x00\x01\x00\x01")}))


def test_roca_fingerprint() -> None:
    # A product of two primes of the ROCA form p = k*M + 65537^a mod M has the print;
    # an ordinary pyca key does not.
    assert not _has_roca_fingerprint(RSA_KEY.public_key().public_numbers().n)
    m = 1
    for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73):
        m *= p
    for p in (79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157):
        m *= p
    m *= 163 * 167
    fake_p = 1234567 * m + pow(65537, 1111, m)
    fake_q = 7654321 * m + pow(65537, 2222, m)
    assert _has_roca_fingerprint(fake_p * fake_q)


def test_okp_rules() -> None:
    with pytest.raises(ConfigurationError, match="Ed25519"):
        Jwks.from_json(_set({**okp_jwk(ED_KEY), "crv": "Ed448"}))
    with pytest.raises(ConfigurationError, match="does not fit"):
        Jwks.from_json(_set({**okp_jwk(ED_KEY), "alg": "Ed25519"}))
    assert Jwks.from_json(_set({**okp_jwk(ED_KEY), "alg": "EdDSA"})).kids == ("ed-1",)


def test_unknown_key_types_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unsupported JWK key type"):
        Jwks.from_json(_set({"kty": "AKP", "kid": "x"}))
    with pytest.raises(ConfigurationError, match="'kty' is missing"):
        Jwks.from_json(_set({"kid": "x"}))


def test_kids_unique_and_missing_only_alone() -> None:
    with pytest.raises(ConfigurationError, match="duplicate kid"):
        Jwks.from_json(_set(ec_jwk(EC_KEY, "same"), okp_jwk(ED_KEY, "same")))
    alone = {k: v for k, v in ec_jwk(EC_KEY).items() if k != "kid"}
    assert Jwks.from_json(_set(alone)).kids == (None,)
    with pytest.raises(ConfigurationError, match="without kid"):
        Jwks.from_json(_set(alone, okp_jwk(ED_KEY)))


def _oct(k: bytes, **extra: Any) -> dict[str, Any]:
    return {"kty": "oct", "alg": "HS256", "kid": "h1", "k": b64u(k), **extra}


def test_symmetric_keys_need_opt_in_and_alg() -> None:
    secret = bytes(range(32))
    with pytest.raises(ConfigurationError, match="allow_symmetric=True"):
        Jwks.from_json(_set(_oct(secret)))
    jwks = Jwks.from_json(_set(_oct(secret)), allow_symmetric=True)
    assert [k.algorithm for k in jwks._keys] == [Algorithm.HS256]
    no_alg = {k: v for k, v in _oct(secret).items() if k != "alg"}
    with pytest.raises(ConfigurationError, match="'alg' is missing"):
        Jwks.from_json(_set(no_alg), allow_symmetric=True)
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Jwks.from_json(_set(_oct(secret[:31])), allow_symmetric=True)
    with pytest.raises(ConfigurationError, match="mix symmetric and public"):
        Jwks.from_json(_set(_oct(secret), ec_jwk(EC_KEY)), allow_symmetric=True)


def _public_key_spellings() -> dict[str, bytes]:
    spki_rsa = RSA_KEY.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return {
        "rsa-pem": RSA_KEY.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ),
        "rsa-der": spki_rsa,
        "rsa-pkcs1-der": RSA_KEY.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1),
        "rsa-der-base64": __import__("base64").b64encode(spki_rsa),
        "ec-pem": EC_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "ec-der": EC_KEY.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        "ec-point": EC_KEY.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint),
        "ed-pem": ED_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "ed-ssh": ED_KEY.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH),
        "rsa-ssh": RSA_KEY.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH),
        "ssh-wire": b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(32),
        "jwk": json.dumps(ec_jwk(EC_KEY)).encode(),
    }


@pytest.mark.parametrize("name", sorted(_public_key_spellings()))
def test_oct_keys_holding_public_key_bytes_are_refused(name: str) -> None:
    k = _public_key_spellings()[name]
    assert len(k) >= 32
    with pytest.raises(ConfigurationError, match="public-key bytes"):
        Jwks.from_json(_set(_oct(k)), allow_symmetric=True)


def test_random_keys_that_start_like_json_are_accepted() -> None:
    for first in (b"{", b"[", b" {"):
        k = first + bytes(range(100, 131))
        assert Jwks.from_json(_set(_oct(k)), allow_symmetric=True).kids == ("h1",)
