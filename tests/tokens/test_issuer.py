"""`TokenIssuer`: the exact token layout, reserved claims, keysets and rotation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cryptorails import Algorithm, ConfigurationError, Context, Keyring, PolicyError
from cryptorails.canonical import dumps
from cryptorails.testing import FixedClock
from cryptorails.tokens import TokenIssuer, TokenVerifier
from cryptorails.tokens._signing import b64u_decode, key_for

CTX = Context("tenant-a", "api-tokens")
ISSUER = "https://issuer.example"
T0 = FixedClock().now()


def _parts(token: str) -> tuple[bytes, bytes, bytes]:
    decoded = [b64u_decode(p) for p in token.split(".")]
    assert len(decoded) == 3
    assert all(d is not None for d in decoded)
    return decoded[0], decoded[1], decoded[2]  # type: ignore[return-value]


@pytest.mark.parametrize("algorithm", [Algorithm.ED25519, Algorithm.ES256, Algorithm.HS256])
def test_token_layout(algorithm: Algorithm) -> None:
    clock = FixedClock()
    kr = Keyring.in_memory(clock=clock)
    key = kr.create_keyset(CTX, algorithm=algorithm).primary
    token = TokenIssuer(kr, CTX, issuer=ISSUER, clock=clock).issue(
        {"sub": "alice", "scope": ["read"]}, timedelta(minutes=5), audience="billing"
    )
    header, payload, signature = _parts(token)
    expected_header = f'{{"alg":"{algorithm.value}","kid":"{key.kid}","typ":"JWT"}}'
    assert header == expected_header.encode()
    claims = json.loads(payload)
    iat = int(T0.timestamp())
    assert claims == {
        "aud": "billing",
        "exp": iat + 300,
        "iat": iat,
        "iss": ISSUER,
        "jti": claims["jti"],
        "scope": ["read"],
        "sub": "alice",
    }
    assert payload == dumps(claims)  # RFC 8785 canonical bytes
    jti = b64u_decode(claims["jti"])
    assert jti is not None
    assert len(jti) == 16
    assert "=" not in token
    signing_input = token.rsplit(".", 1)[0].encode()
    assert key_for(key).verify(signature, signing_input)


def test_jti_is_fresh_and_time_claims_are_integers() -> None:
    clock = FixedClock(T0 + timedelta(seconds=0.75))
    issuer = TokenIssuer(Keyring.in_memory(), CTX, issuer=ISSUER, clock=clock)
    tokens = [issuer.issue({}, timedelta(seconds=90.9)) for _ in range(20)]
    payloads = [json.loads(_parts(t)[1]) for t in tokens]
    assert len({p["jti"] for p in payloads}) == 20
    assert all(p["iat"] == int(T0.timestamp()) and p["exp"] == p["iat"] + 90 for p in payloads)
    assert all("aud" not in p for p in payloads)


def test_audience_list() -> None:
    issuer = TokenIssuer(Keyring.in_memory(), CTX, issuer=ISSUER)
    token = issuer.issue({}, timedelta(minutes=1), audience=["a", "b"])
    assert json.loads(_parts(token)[1])["aud"] == ["a", "b"]
    for bad in ([], [""], ["a", 1]):
        with pytest.raises(TypeError):
            issuer.issue({}, timedelta(minutes=1), audience=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        issuer.issue({}, timedelta(minutes=1), audience="")


@pytest.mark.parametrize("claim", ["iss", "iat", "exp", "jti", "aud"])
def test_reserved_claims_are_refused(claim: str) -> None:
    issuer = TokenIssuer(Keyring.in_memory(), CTX, issuer=ISSUER)
    with pytest.raises(ValueError, match=f"must not set {claim}"):
        issuer.issue({claim: "x", "sub": "a"}, timedelta(minutes=1))


def test_argument_checks() -> None:
    kr = Keyring.in_memory()
    issuer = TokenIssuer(kr, CTX, issuer=ISSUER)
    with pytest.raises(TypeError):
        issuer.issue([("sub", "a")], timedelta(minutes=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        issuer.issue({1: "a"}, timedelta(minutes=1))  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        issuer.issue({}, 60)  # type: ignore[arg-type]
    for ttl in (timedelta(0), timedelta(seconds=0.5), timedelta(seconds=-5)):
        with pytest.raises(ValueError, match="at least one second"):
            issuer.issue({}, ttl)
    with pytest.raises(ValueError):  # noqa: PT011 - the canonical module's own message
        issuer.issue({"x": float("nan")}, timedelta(minutes=1))
    with pytest.raises(TypeError):
        TokenIssuer(kr, CTX, issuer="")
    with pytest.raises(TypeError):
        TokenIssuer(kr, "tenant-a", issuer=ISSUER)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TokenIssuer(object(), CTX, issuer=ISSUER)  # type: ignore[arg-type]


def test_default_keyset_is_ed25519() -> None:
    kr = Keyring.in_memory()
    TokenIssuer(kr, CTX, issuer=ISSUER)
    assert kr.keyset(CTX).algorithm is Algorithm.ED25519


def test_aead_keysets_are_refused() -> None:
    kr = Keyring.in_memory()
    kr.keyset(CTX)  # XAES-256-GCM
    with pytest.raises(ConfigurationError, match="tokens need an Ed25519, ES256 or HS256"):
        TokenIssuer(kr, CTX, issuer=ISSUER)


def test_rotation_signs_with_the_new_primary_and_old_tokens_still_verify() -> None:
    clock = FixedClock()
    kr = Keyring.in_memory(clock=clock)
    issuer = TokenIssuer(kr, CTX, issuer=ISSUER, clock=clock)
    verifier = TokenVerifier.for_keyring(kr, CTX, issuer=ISSUER, clock=clock)
    old = issuer.issue({"n": 1}, timedelta(minutes=5))
    new_kid = kr.rotate(CTX)
    new = issuer.issue({"n": 2}, timedelta(minutes=5))
    assert json.loads(_parts(new)[0])["kid"] == str(new_kid)
    assert verifier.verify(old)["n"] == 1
    assert verifier.verify(new)["n"] == 2


def test_key_lifetime_rotates_or_refuses() -> None:
    clock = FixedClock()
    kr = Keyring.in_memory(clock=clock, key_lifetime=timedelta(days=1))
    issuer = TokenIssuer(kr, CTX, issuer=ISSUER, clock=clock)
    first = kr.keyset(CTX).primary.kid
    clock.advance(timedelta(days=2))
    token = issuer.issue({}, timedelta(minutes=1))
    assert json.loads(_parts(token)[0])["kid"] != str(first)

    strict = Keyring.in_memory(clock=clock, key_lifetime=timedelta(days=1), auto_rotate=False)
    strict_issuer = TokenIssuer(strict, CTX, issuer=ISSUER, clock=clock)
    clock.advance(timedelta(days=2))
    with pytest.raises(PolicyError, match="expired"):
        strict_issuer.issue({}, timedelta(minutes=1))


def test_claims_json_cannot_represent_exactly_are_refused() -> None:
    issuer = TokenIssuer(Keyring.in_memory(), CTX, issuer=ISSUER)
    # The verifier's strict parser refuses these, so the issuer never signs them.
    for value in (2**60, float("inf")):
        with pytest.raises(ValueError, match=r"integer outside|finite|NaN|Infinity|not"):
            issuer.issue({"x": value}, timedelta(minutes=1))
