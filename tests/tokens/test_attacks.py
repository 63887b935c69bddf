"""Known attacks on JWT verifiers, one test each.

Every test asserts the same public text and the precise internal reason.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cryptorails import (
    Algorithm,
    ConfigurationError,
    Context,
    Keyring,
    Reason,
    VerificationError,
)
from cryptorails.testing import FixedClock
from cryptorails.tokens import Jwks, TokenIssuer, TokenVerifier, TrustedIssuers
from cryptorails.tokens._signing import sign

from .helpers import b64u, forge, hs256, rsa_jwk

A = Context("tenant-a", "api-tokens")
B = Context("tenant-b", "api-tokens")
ISSUER = "https://issuer.example"
CLOCK = FixedClock()
NOW = int(CLOCK.now().timestamp())
CLAIMS = {"iss": ISSUER, "iat": NOW, "exp": NOW + 300, "sub": "alice"}


def _refused(verifier: TokenVerifier | TrustedIssuers, token: Any, *tenant: str) -> Reason:
    if isinstance(verifier, TrustedIssuers):
        with pytest.raises(VerificationError) as info:
            verifier.verify(tenant[0], token)
    else:
        with pytest.raises(VerificationError) as info:
            verifier.verify(token)
    assert str(info.value) == "verification failed"
    assert info.value.args == ()
    return info.value.reason  # type: ignore[no-any-return]


@pytest.fixture
def keyring() -> Keyring:
    kr = Keyring.in_memory(clock=CLOCK)
    kr.create_keyset(A, algorithm=Algorithm.ES256)
    kr.create_keyset(B, algorithm=Algorithm.ES256)
    return kr


@pytest.fixture
def verifier(keyring: Keyring) -> TokenVerifier:
    return TokenVerifier.for_keyring(keyring, A, issuer=ISSUER, clock=CLOCK)


def _signed(keyring: Keyring, header: dict[str, Any] | bytes, payload: Any = None) -> str:
    key = keyring.keyset(A).primary
    body = CLAIMS if payload is None else payload
    return forge(header, body, lambda data: sign(key, data))


def _header(keyring: Keyring, **extra: Any) -> dict[str, Any]:
    kid = str(keyring.keyset(A).primary.kid)
    return {"alg": "ES256", "kid": kid, "typ": "JWT", **extra}


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_casing(keyring: Keyring, verifier: TokenVerifier, alg: str) -> None:
    header = {"alg": alg, "kid": str(keyring.keyset(A).primary.kid)}
    token = forge(header, CLAIMS, lambda data: b"")
    assert _refused(verifier, token) is Reason.ALG_NONE
    # Also with a (meaningless) signature part present.
    token = forge(header, CLAIMS, lambda data: b"\x00" * 64)
    assert _refused(verifier, token) is Reason.ALG_NONE


@pytest.mark.parametrize("encoding", [Encoding.PEM, Encoding.DER])
def test_hs256_signed_with_the_ec_public_key(
    keyring: Keyring, verifier: TokenVerifier, encoding: Encoding
) -> None:
    jwk = keyring.jwks(A)["keys"][0]
    x, y = (int.from_bytes(base64.urlsafe_b64decode(jwk[c] + "=="), "big") for c in "xy")
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    secret = public.public_bytes(encoding, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": jwk["kid"], "typ": "JWT"}
    token = forge(header, CLAIMS, lambda data: hs256(secret, data))
    assert _refused(verifier, token) is Reason.ALGORITHM_MISMATCH


@pytest.mark.parametrize("encoding", [Encoding.PEM, Encoding.DER])
def test_hs256_signed_with_the_rsa_public_key(encoding: Encoding) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = TokenVerifier(
        issuer=ISSUER, keys=Jwks.from_json({"keys": [rsa_jwk(private)]}), clock=CLOCK
    )
    secret = private.public_key().public_bytes(encoding, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    token = forge(header, CLAIMS, lambda data: hs256(secret, data))
    assert _refused(verifier, token) is Reason.ALGORITHM_MISMATCH


def test_kid_of_another_tenants_key(keyring: Keyring) -> None:
    trusted = TrustedIssuers(
        {
            "tenant-a": TokenVerifier.for_keyring(keyring, A, issuer=ISSUER, clock=CLOCK),
            "tenant-b": TokenVerifier.for_keyring(keyring, B, issuer=ISSUER, clock=CLOCK),
        }
    )
    token_b = TokenIssuer(keyring, B, issuer=ISSUER, clock=CLOCK).issue({}, timedelta(minutes=5))
    assert trusted.verify("tenant-b", token_b)["iss"] == ISSUER
    assert _refused(trusted, token_b, "tenant-a") is Reason.UNKNOWN_KEY


@pytest.mark.parametrize(
    "kid",
    ["../../etc/passwd", "/dev/null", "1' OR '1'='1", "1; DROP TABLE keys; --", "%2e%2e%2f"],
)
def test_kid_injection(keyring: Keyring, verifier: TokenVerifier, kid: str) -> None:
    assert _refused(verifier, _signed(keyring, _header(keyring, kid=kid))) is Reason.UNKNOWN_KEY


def test_embedded_jwk(keyring: Keyring, verifier: TokenVerifier) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    numbers = attacker.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64u(numbers.x.to_bytes(32, "big")),
        "y": b64u(numbers.y.to_bytes(32, "big")),
    }
    token = _signed(keyring, _header(keyring, jwk=jwk))
    assert _refused(verifier, token) is Reason.FORBIDDEN_HEADER


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIBszCCAVmgAwIBAgIU"]),
        ("x5t", "dGh1bWJwcmludA"),
        ("x5t#S256", "dGh1bWJwcmludA"),
    ],
)
def test_key_url_and_certificate_headers(
    keyring: Keyring, verifier: TokenVerifier, name: str, value: Any
) -> None:
    token = _signed(keyring, _header(keyring, **{name: value}))
    assert _refused(verifier, token) is Reason.FORBIDDEN_HEADER


def test_unknown_crit(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring, crit=["exp"], exp=NOW))
    assert _refused(verifier, token) is Reason.CRIT_UNSUPPORTED
    token = _signed(keyring, _header(keyring, b64=False, crit=["b64"]))
    assert _refused(verifier, token) is Reason.CRIT_UNSUPPORTED


def test_duplicate_claim_names_in_payload(keyring: Keyring, verifier: TokenVerifier) -> None:
    payload = f'{{"iss":"{ISSUER}","exp":{NOW + 300},"sub":"alice","sub":"admin"}}'.encode()
    assert _refused(verifier, _signed(keyring, _header(keyring), payload)) is (
        Reason.PAYLOAD_INVALID
    )


def test_duplicate_names_in_header(keyring: Keyring, verifier: TokenVerifier) -> None:
    kid = keyring.keyset(A).primary.kid
    header = f'{{"alg":"ES256","kid":"{kid}","alg":"none"}}'.encode()
    assert _refused(verifier, _signed(keyring, header)) is Reason.MALFORMED


def test_expired(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring), {**CLAIMS, "exp": NOW - 31})
    assert _refused(verifier, token) is Reason.EXPIRED


def test_not_yet_valid(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring), {**CLAIMS, "nbf": NOW + 31})
    assert _refused(verifier, token) is Reason.NOT_YET_VALID


def test_issued_in_the_future(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring), {**CLAIMS, "iat": NOW + 31})
    assert _refused(verifier, token) is Reason.ISSUED_IN_FUTURE


def test_wrong_audience(keyring: Keyring) -> None:
    verifier = TokenVerifier.for_keyring(keyring, A, issuer=ISSUER, clock=CLOCK, audience="api")
    token = _signed(keyring, _header(keyring), {**CLAIMS, "aud": "admin-api"})
    assert _refused(verifier, token) is Reason.WRONG_AUDIENCE


def test_wrong_issuer(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring), {**CLAIMS, "iss": "https://evil.example"})
    assert _refused(verifier, token) is Reason.WRONG_ISSUER


def test_signature_from_another_token(keyring: Keyring, verifier: TokenVerifier) -> None:
    issuer = TokenIssuer(keyring, A, issuer=ISSUER, clock=CLOCK)
    mine = issuer.issue({"sub": "alice"}, timedelta(minutes=5))
    other = issuer.issue({"sub": "admin"}, timedelta(minutes=5))
    spliced = mine.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    assert _refused(verifier, spliced) is Reason.SIGNATURE_INVALID


@pytest.mark.parametrize("cut", [1, 32, 63, 64])
def test_truncated_or_empty_signature(keyring: Keyring, verifier: TokenVerifier, cut: int) -> None:
    token = TokenIssuer(keyring, A, issuer=ISSUER, clock=CLOCK).issue({}, timedelta(minutes=5))
    signing_input, signature = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "==")
    assert len(raw) == 64
    truncated = f"{signing_input}.{b64u(raw[: len(raw) - cut])}"
    assert _refused(verifier, truncated) is Reason.SIGNATURE_INVALID


def test_oversized_token(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = _signed(keyring, _header(keyring), {**CLAIMS, "pad": "x" * 9000})
    assert _refused(verifier, token) is Reason.TOO_LARGE
    assert _refused(verifier, token.encode()) is Reason.TOO_LARGE
    small = TokenVerifier.for_keyring(keyring, A, issuer=ISSUER, clock=CLOCK, max_token_bytes=64)
    normal = TokenIssuer(keyring, A, issuer=ISSUER, clock=CLOCK).issue({}, timedelta(minutes=5))
    assert _refused(small, normal) is Reason.TOO_LARGE


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding on the signature
        lambda t: t.replace(".", "=.", 1),  # padding on the header
        lambda t: t.replace("-", "+").replace("_", "/") + "+/",  # standard alphabet
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: t.replace(".", ".\t", 1),
        lambda t: t + ".",  # a fourth part
        lambda t: t.rsplit(".", 1)[0],  # two parts
        lambda t: t.replace(".", "..", 1),
    ],
)
def test_padding_or_non_base64url_characters(
    keyring: Keyring, verifier: TokenVerifier, mangle: Any
) -> None:
    token = TokenIssuer(keyring, A, issuer=ISSUER, clock=CLOCK).issue({}, timedelta(minutes=5))
    assert verifier.verify(token)
    assert _refused(verifier, mangle(token)) is Reason.MALFORMED


@pytest.mark.parametrize(
    "payload",
    [
        f'{{"iss":"{ISSUER}","exp":{NOW + 300},"score":NaN}}',
        f'{{"iss":"{ISSUER}","exp":{NOW + 300},"id":{2**60}}}',
        f'{{"iss":"{ISSUER}","exp":{NOW + 300},"big":1e400}}',
    ],
    ids=["nan", "2^60", "overflow"],
)
def test_valid_json_but_not_i_json(keyring: Keyring, verifier: TokenVerifier, payload: str) -> None:
    token = _signed(keyring, _header(keyring), payload.encode())
    assert _refused(verifier, token) is Reason.PAYLOAD_INVALID


def test_public_key_bytes_configured_as_an_hmac_secret() -> None:
    # Even if an operator put a public key's bytes into a symmetric JWKS, import refuses.
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    oct_jwk = {"kty": "oct", "alg": "HS256", "kid": "k", "k": b64u(pem)}
    with pytest.raises(ConfigurationError, match="public-key bytes"):
        Jwks.from_json({"keys": [oct_jwk]}, allow_symmetric=True)
