"""Interoperability with PyJWT, both ways.

- Our tokens (EdDSA, ES256 from a keyring) verify in PyJWT with the keyring's JWKS read
  through `jwt.PyJWK`; HS256 tokens with the shared secret.
- PyJWT's tokens (EdDSA, ES256, RS256, PS256, HS256) verify in ours with a `Jwks` built
  from PyJWT's own JWK export.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cryptorails import Algorithm, Context, Keyring, Reason, VerificationError
from cryptorails.tokens import Jwks, TokenIssuer, TokenVerifier

CTX = Context("tenant-a", "api-tokens")
ISSUER = "https://issuer.example"


@pytest.mark.parametrize("algorithm", [Algorithm.ED25519, Algorithm.ES256])
def test_ours_verified_by_pyjwt_with_our_jwks(algorithm: Algorithm) -> None:
    kr = Keyring.in_memory()
    kr.create_keyset(CTX, algorithm=algorithm)
    kr.rotate(CTX)  # two keys in the JWKS: PyJWT must pick by kid
    token = TokenIssuer(kr, CTX, issuer=ISSUER).issue(
        {"sub": "alice"}, timedelta(minutes=5), audience="api"
    )
    jwk_set = jwt.PyJWKSet.from_dict(json.loads(json.dumps(kr.jwks(CTX))))
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwk_set[kid]
    claims = jwt.decode(
        token,
        key.key,
        algorithms=[algorithm.value],
        audience="api",
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "jti"]},
    )
    assert claims["sub"] == "alice"
    single = jwt.PyJWK(kr.jwks(CTX)["keys"][-1])
    assert jwt.decode(token, single.key, algorithms=[single.algorithm_name], audience="api")


def test_our_hs256_verified_by_pyjwt() -> None:
    kr = Keyring.in_memory()
    key = kr.create_keyset(CTX, algorithm=Algorithm.HS256).primary
    token = TokenIssuer(kr, CTX, issuer=ISSUER).issue({"sub": "a"}, timedelta(minutes=5))
    assert key.material is not None
    secret = key.material.reveal()
    assert jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)["sub"] == "a"


def _pyjwt_key(alg: str) -> tuple[Any, dict[str, Any]]:
    """A private key for PyJWT to sign with, and its public (or oct) JWK from PyJWT."""
    if alg == "EdDSA":
        private: Any = ed25519.Ed25519PrivateKey.generate()
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = bytes(range(1, 33))
        jwk = jwt.algorithms.HMACAlgorithm.to_jwk(private, as_dict=True)
    return private, {**jwk, "alg": alg, "kid": f"{alg}-key"}


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "PS256", "HS256"])
def test_pyjwt_tokens_verified_by_ours(alg: str) -> None:
    private, jwk = _pyjwt_key(alg)
    now = datetime.now(UTC)
    token = jwt.encode(
        {"iss": ISSUER, "sub": "bob", "aud": "api", "iat": now, "exp": now + timedelta(minutes=5)},
        private,
        algorithm=alg,
        headers={"kid": jwk["kid"]},
    )
    keys = Jwks.from_json(json.dumps({"keys": [jwk]}), allow_symmetric=alg == "HS256")
    claims = TokenVerifier(issuer=ISSUER, keys=keys, audience="api").verify(token)
    assert claims["sub"] == "bob"
    # The same token re-labelled with another algorithm is refused.
    _, other = _pyjwt_key("ES256" if alg != "ES256" else "EdDSA")
    mismatched = Jwks.from_json({"keys": [{**other, "kid": jwk["kid"]}]})
    with pytest.raises(VerificationError) as info:
        TokenVerifier(issuer=ISSUER, keys=mismatched, audience="api").verify(token)
    assert info.value.reason is Reason.ALGORITHM_MISMATCH
