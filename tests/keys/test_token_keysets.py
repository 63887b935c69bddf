"""Keyrings with signing keysets: material, rotation, the JWKS, the file keystore."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cryptorails import (
    Algorithm,
    ConfigurationError,
    Context,
    KeyKind,
    Keyring,
    KeyState,
    LocalKek,
    Sealer,
)
from cryptorails.algorithms import load_private_key, new_key_material
from cryptorails.tokens import TokenIssuer, TokenVerifier

A = Context("tenant-a", "api-tokens")
B = Context("tenant-b", "api-tokens")
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
TOKEN_ALGORITHMS = [Algorithm.ED25519, Algorithm.ES256, Algorithm.HS256]


def test_algorithm_kinds_and_jose_names() -> None:
    assert {a.value: a.kind for a in Algorithm if a.kind is not KeyKind.AEAD} == {
        "EdDSA": KeyKind.SIGNATURE,
        "ES256": KeyKind.SIGNATURE,
        "HS256": KeyKind.MAC,
        "RS256": KeyKind.SIGNATURE,
        "PS256": KeyKind.SIGNATURE,
    }
    for algorithm in Algorithm:
        if algorithm.kind is KeyKind.AEAD:
            assert Algorithm.from_wire_id(algorithm.wire_id) is algorithm
        else:
            with pytest.raises(ValueError, match="has no wire id"):
                _ = algorithm.wire_id
            assert not algorithm.budgeted


@pytest.mark.parametrize("algorithm", TOKEN_ALGORITHMS)
def test_new_key_material(algorithm: Algorithm) -> None:
    materials = {new_key_material(algorithm) for _ in range(8)}
    assert len(materials) == 8
    assert all(len(m) == 32 for m in materials)
    if algorithm is Algorithm.ES256:
        for m in materials:
            assert 1 <= int.from_bytes(m, "big") < P256_N
            key = load_private_key(algorithm, m)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert key.private_numbers().private_value == int.from_bytes(m, "big")


@pytest.mark.parametrize("algorithm", [Algorithm.RS256, Algorithm.PS256])
def test_rsa_is_verification_only(algorithm: Algorithm) -> None:
    with pytest.raises(ConfigurationError, match="verification-only"):
        new_key_material(algorithm)
    kr = Keyring.in_memory()
    with pytest.raises(ConfigurationError, match="verification-only"):
        kr.create_keyset(A, algorithm=algorithm)
    assert kr.find_keyset(A) is None
    kr.create_keyset(A, algorithm=Algorithm.ED25519)
    with pytest.raises(ConfigurationError, match="verification-only"):
        kr.rotate(A, algorithm=algorithm)


def test_load_private_key_refuses_bad_material() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        load_private_key(Algorithm.ED25519, bytes(31))
    with pytest.raises(ValueError, match="private"):
        load_private_key(Algorithm.ES256, bytes(32))  # scalar 0
    with pytest.raises(ValueError, match="no private key"):
        load_private_key(Algorithm.HS256, bytes(32))


@pytest.mark.parametrize("algorithm", TOKEN_ALGORITHMS)
def test_signing_keysets_rotate_and_change_state(algorithm: Algorithm) -> None:
    kr = Keyring.in_memory()
    ks = kr.create_keyset(A, algorithm=algorithm)
    assert ks.algorithm is algorithm
    old = ks.primary.kid
    new = kr.rotate(A)
    ks = kr.keyset(A)
    assert ks.primary.kid == new
    assert ks.primary.algorithm is algorithm
    assert ks.get(old).state is KeyState.ACTIVE  # type: ignore[union-attr]
    kr.set_state(A, old, KeyState.DISABLED)
    kr.set_state(A, old, KeyState.DESTROYED)
    assert kr.keyset(A).get(old).material is None  # type: ignore[union-attr]


def test_keyset_algorithm_on_first_use_only() -> None:
    kr = Keyring.in_memory()
    assert kr.keyset(A, algorithm=Algorithm.ES256).algorithm is Algorithm.ES256
    assert kr.keyset(A, algorithm=Algorithm.HS256).algorithm is Algorithm.ES256
    assert kr.keyset(B).algorithm is Algorithm.XAES_256_GCM


def test_rotation_never_changes_between_sealing_and_token_keys() -> None:
    kr = Keyring.in_memory()
    kr.keyset(A)  # AEAD
    with pytest.raises(ConfigurationError, match="cannot rotate to EdDSA"):
        kr.rotate(A, algorithm=Algorithm.ED25519)
    kr.create_keyset(B, algorithm=Algorithm.HS256)
    with pytest.raises(ConfigurationError, match="cannot rotate to XAES-256-GCM"):
        kr.rotate(B, algorithm=Algorithm.XAES_256_GCM)
    # Token keysets may move between HS256 and signatures.
    kr.rotate(B, algorithm=Algorithm.ED25519)
    assert kr.keyset(B).primary.algorithm is Algorithm.ED25519


def test_sealer_refuses_signing_keysets() -> None:
    kr = Keyring.in_memory()
    kr.create_keyset(A, algorithm=Algorithm.ED25519)
    with pytest.raises(ConfigurationError, match="needs an AEAD keyset"):
        Sealer(kr).seal(b"x", A)


def _b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("algorithm", [Algorithm.ED25519, Algorithm.ES256])
def test_jwks_lists_public_keys_that_may_verify(algorithm: Algorithm) -> None:
    kr = Keyring.in_memory()
    first = kr.create_keyset(A, algorithm=algorithm).primary.kid
    second = kr.rotate(A)
    third = kr.rotate(A)
    kr.set_state(A, first, KeyState.DISABLED)
    jwks = kr.jwks(A)
    assert [k["kid"] for k in jwks["keys"]] == [str(second), str(third)]
    for jwk in jwks["keys"]:
        assert jwk["alg"] == algorithm.value
        assert jwk["use"] == "sig"
        assert "d" not in jwk
        assert "k" not in jwk
        if algorithm is Algorithm.ED25519:
            assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
            assert (jwk["kty"], jwk["crv"], len(_b64u_decode(jwk["x"]))) == ("OKP", "Ed25519", 32)
        else:
            assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
            assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
            assert len(_b64u_decode(jwk["x"])) == len(_b64u_decode(jwk["y"])) == 32


def test_jwks_never_contains_secret_keys() -> None:
    kr = Keyring.in_memory()
    with pytest.raises(ConfigurationError, match="no keyset"):
        kr.jwks(A)
    kr.keyset(A)
    with pytest.raises(ConfigurationError, match="no public keys"):
        kr.jwks(A)
    kr.create_keyset(B, algorithm=Algorithm.HS256)
    with pytest.raises(ConfigurationError, match="no public keys"):
        kr.jwks(B)
    kr.rotate(B, algorithm=Algorithm.ED25519)
    assert [k["alg"] for k in kr.jwks(B)["keys"]] == ["EdDSA"]  # the HS256 key is left out


@pytest.mark.parametrize("algorithm", TOKEN_ALGORITHMS)
def test_file_keystore_keeps_signing_keys(tmp_path: Path, algorithm: Algorithm) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    kr = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)
    kr.create_keyset(A, algorithm=algorithm)
    token = TokenIssuer(kr, A, issuer="https://issuer").issue({"sub": "u"}, timedelta(minutes=5))

    reopened = Keyring.open(tmp_path / "ks", kek=kek, environment="prod")
    assert reopened.keyset(A).primary.algorithm is algorithm
    if algorithm is not Algorithm.HS256:
        assert reopened.jwks(A) == kr.jwks(A)
    verifier = TokenVerifier.for_keyring(reopened, A, issuer="https://issuer")
    assert verifier.verify(token)["sub"] == "u"
