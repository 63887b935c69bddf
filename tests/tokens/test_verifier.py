"""`TokenVerifier`: claims, key selection, live keyrings, configuration checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cryptorails import (
    Algorithm,
    ConfigurationError,
    Context,
    Keyring,
    KeyState,
    LocalKek,
    Reason,
    VerificationError,
)
from cryptorails.testing import FixedClock
from cryptorails.tokens import DEFAULT_LEEWAY, Jwks, TokenIssuer, TokenVerifier
from cryptorails.tokens._signing import sign

from .helpers import forge

CTX = Context("tenant-a", "api-tokens")
ISSUER = "https://issuer.example"


class Env:
    """A keyring with one Ed25519 keyset, an issuer and a live verifier, at a fixed time."""

    def __init__(self, algorithm: Algorithm = Algorithm.ED25519, **verifier: Any) -> None:
        self.clock = FixedClock()
        self.keyring = Keyring.in_memory(clock=self.clock)
        self.keyring.create_keyset(CTX, algorithm=algorithm)
        self.issuer = TokenIssuer(self.keyring, CTX, issuer=ISSUER, clock=self.clock)
        self.verifier = TokenVerifier.for_keyring(
            self.keyring, CTX, issuer=ISSUER, clock=self.clock, **verifier
        )
        self.now = int(self.clock.now().timestamp())

    def signed(self, claims: Mapping[str, Any], header: dict[str, Any] | None = None) -> str:
        """A token with exactly these claims, validly signed by the primary key."""
        key = self.keyring.keyset(CTX).primary
        h = header or {"alg": key.algorithm.value, "kid": str(key.kid), "typ": "JWT"}
        return forge(h, dict(claims), lambda data: sign(key, data))

    def claims(self, **extra: Any) -> dict[str, Any]:
        return {"iss": ISSUER, "iat": self.now, "exp": self.now + 300, **extra}


def reason(verifier: TokenVerifier, token: Any) -> Reason:
    with pytest.raises(VerificationError) as info:
        verifier.verify(token)
    assert str(info.value) == "verification failed"
    return info.value.reason  # type: ignore[no-any-return]


def test_round_trip_returns_a_read_only_mapping() -> None:
    env = Env()
    claims = env.verifier.verify(env.issuer.issue({"sub": "alice"}, timedelta(minutes=5)))
    assert claims["sub"] == "alice"
    assert claims["iss"] == ISSUER
    with pytest.raises(TypeError):
        claims["sub"] = "mallory"  # type: ignore[index]
    assert env.verifier.verify(env.issuer.issue({}, timedelta(minutes=5)).encode())["iss"]


def test_default_leeway_is_thirty_seconds() -> None:
    assert timedelta(seconds=30) == DEFAULT_LEEWAY


def test_exp_boundaries_with_leeway() -> None:
    env = Env(leeway=timedelta(seconds=10))
    token = env.signed(env.claims(exp=env.now + 60))
    env.clock.advance(69)
    assert env.verifier.verify(token)
    env.clock.advance(1)  # now == exp + leeway: refused (RFC 7519 §4.1.4)
    assert reason(env.verifier, token) is Reason.EXPIRED


def test_nbf_and_iat_with_leeway() -> None:
    env = Env(leeway=timedelta(seconds=10))
    assert env.verifier.verify(env.signed(env.claims(nbf=env.now + 10)))
    assert reason(env.verifier, env.signed(env.claims(nbf=env.now + 11))) is Reason.NOT_YET_VALID
    assert env.verifier.verify(env.signed(env.claims(iat=env.now + 10)))
    token = env.signed(env.claims(iat=env.now + 11))
    assert reason(env.verifier, token) is Reason.ISSUED_IN_FUTURE


def test_float_times_are_accepted() -> None:
    env = Env()
    assert env.verifier.verify(env.signed(env.claims(exp=env.now + 0.5 + 100)))


def test_max_age() -> None:
    env = Env(max_age=timedelta(minutes=10), leeway=timedelta(0))
    token = env.signed(env.claims(exp=env.now + 3600))
    env.clock.advance(600)
    assert env.verifier.verify(token)
    env.clock.advance(1)
    assert reason(env.verifier, token) is Reason.TOO_OLD
    no_iat = env.signed({"iss": ISSUER, "exp": env.now + 99999})
    assert reason(env.verifier, no_iat) is Reason.MISSING_CLAIM


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [True, "1893456000", None, [1], {"t": 1}])
def test_time_claims_must_be_numbers(name: str, value: Any) -> None:
    env = Env()
    assert reason(env.verifier, env.signed(env.claims(**{name: value}))) is Reason.CLAIM_INVALID


def test_required_claims() -> None:
    env = Env(required=("exp", "sub"))
    assert reason(env.verifier, env.signed(env.claims())) is Reason.MISSING_CLAIM
    assert env.verifier.verify(env.signed(env.claims(sub="a")))
    no_exp = env.signed({"iss": ISSUER, "sub": "a"})
    assert reason(env.verifier, no_exp) is Reason.MISSING_CLAIM
    relaxed = Env(required=())
    assert relaxed.verifier.verify(relaxed.signed({"iss": ISSUER}))


def test_issuer_is_exact_and_required() -> None:
    env = Env()
    for iss in (ISSUER + "/", ISSUER.upper(), [ISSUER], 1):
        assert reason(env.verifier, env.signed(env.claims(iss=iss))) is Reason.WRONG_ISSUER
    assert reason(env.verifier, env.signed({"exp": env.now + 60})) is Reason.MISSING_CLAIM


def test_audience() -> None:
    env = Env(audience="billing")
    assert env.verifier.verify(env.signed(env.claims(aud="billing")))
    assert env.verifier.verify(env.signed(env.claims(aud=["x", "billing"])))
    assert reason(env.verifier, env.signed(env.claims(aud="other"))) is Reason.WRONG_AUDIENCE
    assert reason(env.verifier, env.signed(env.claims(aud=["x"]))) is Reason.WRONG_AUDIENCE
    assert reason(env.verifier, env.signed(env.claims())) is Reason.MISSING_CLAIM
    for bad in ([], [1], 1, None, {"billing": 1}):
        assert reason(env.verifier, env.signed(env.claims(aud=bad))) is Reason.CLAIM_INVALID
    # RFC 7519 §4.1.3: a verifier without an audience refuses tokens that name one.
    plain = Env()
    assert reason(plain.verifier, plain.signed(plain.claims(aud="billing"))) is (
        Reason.WRONG_AUDIENCE
    )


@pytest.mark.parametrize("payload", [b"[]", b'"s"', b"1", b"null", b"", b"\xff"])
def test_payload_must_be_a_json_object(payload: bytes) -> None:
    env = Env()
    key = env.keyring.keyset(CTX).primary
    header = {"alg": "EdDSA", "kid": str(key.kid)}
    token = forge(header, payload, lambda data: sign(key, data))
    assert reason(env.verifier, token) is Reason.PAYLOAD_INVALID


def test_kid_selection() -> None:
    env = Env()
    key = env.keyring.keyset(CTX).primary
    no_kid = env.signed(env.claims(), header={"alg": "EdDSA"})
    assert env.verifier.verify(no_kid)  # the only usable key
    env.keyring.rotate(CTX)
    assert reason(env.verifier, no_kid) is Reason.KID_REQUIRED  # two usable keys now
    numeric = forge({"alg": "EdDSA", "kid": key.kid}, env.claims(), lambda d: sign(key, d))
    assert reason(env.verifier, numeric) is Reason.MALFORMED
    padded = forge({"alg": "EdDSA", "kid": f"0{key.kid}"}, env.claims(), lambda d: sign(key, d))
    assert reason(env.verifier, padded) is Reason.UNKNOWN_KEY


def test_retired_keys_are_refused() -> None:
    env = Env()
    token = env.issuer.issue({}, timedelta(minutes=5))
    old = env.keyring.keyset(CTX).primary.kid
    env.keyring.rotate(CTX)
    assert env.verifier.verify(token)
    env.keyring.set_state(CTX, old, KeyState.DISABLED)
    assert reason(env.verifier, token) is Reason.KEY_DISABLED
    env.keyring.set_state(CTX, old, KeyState.DESTROYED)
    assert reason(env.verifier, token) is Reason.KEY_DESTROYED


def test_snapshot_verifier_does_not_follow_rotation_but_live_one_does() -> None:
    env = Env()
    snapshot = TokenVerifier(issuer=ISSUER, keys=env.keyring.keyset(CTX), clock=env.clock)
    env.keyring.rotate(CTX)
    token = env.issuer.issue({}, timedelta(minutes=5))
    assert reason(snapshot, token) is Reason.UNKNOWN_KEY
    assert env.verifier.verify(token)


def test_live_verifier_sees_another_process_rotation(tmp_path: Path) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    clock = FixedClock()
    issuing = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)
    issuing.create_keyset(CTX, algorithm=Algorithm.ES256)
    # A long refresh interval: only the unknown-kid re-read can pick the rotation up.
    verifying = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", refresh_interval=3600)
    verifier = TokenVerifier.for_keyring(verifying, CTX, issuer=ISSUER, clock=clock)
    issuer = TokenIssuer(issuing, CTX, issuer=ISSUER, clock=clock)
    assert verifier.verify(issuer.issue({}, timedelta(minutes=5)))
    issuing.rotate(CTX)
    assert verifier.verify(issuer.issue({}, timedelta(minutes=5)))


def test_missing_keyset_and_wrong_token_types() -> None:
    kr = Keyring.in_memory()
    verifier = TokenVerifier.for_keyring(kr, CTX, issuer=ISSUER)
    env = Env()
    assert reason(verifier, env.issuer.issue({}, timedelta(minutes=5))) is Reason.UNKNOWN_KEY
    assert kr.find_keyset(CTX) is None  # verifying never creates a keyset
    for bad in (None, 1, ["a.b.c"]):
        assert reason(env.verifier, bad) is Reason.WRONG_TYPE
    assert reason(env.verifier, "a.b.c\u00e9") is Reason.MALFORMED
    assert reason(env.verifier, b"\xff.a.b") is Reason.MALFORMED


def test_configuration_checks() -> None:
    kr = Keyring.in_memory()
    kr.keyset(CTX)  # AEAD
    with pytest.raises(ConfigurationError, match="tokens need"):
        TokenVerifier.for_keyring(kr, CTX, issuer=ISSUER)
    with pytest.raises(ConfigurationError, match="tokens need"):
        TokenVerifier(issuer=ISSUER, keys=kr.keyset(CTX))
    keys = Env().keyring.keyset(CTX)
    with pytest.raises(TypeError):
        TokenVerifier(issuer=ISSUER, keys=json.dumps({"keys": []}))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TokenVerifier(issuer="", keys=keys)
    with pytest.raises(TypeError):
        TokenVerifier(issuer=ISSUER, keys=keys, audience="")
    with pytest.raises(TypeError):
        TokenVerifier(issuer=ISSUER, keys=keys, required="exp")
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier(issuer=ISSUER, keys=keys, leeway=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="max_age"):
        TokenVerifier(issuer=ISSUER, keys=keys, max_age=timedelta(0))
    with pytest.raises(ValueError, match="max_token_bytes"):
        TokenVerifier(issuer=ISSUER, keys=keys, max_token_bytes=10)
    assert repr(TokenVerifier(issuer=ISSUER, keys=keys)) == (
        "TokenVerifier(issuer='https://issuer.example', audience=None)"
    )


def test_jwks_verifier_from_keyring_jwks() -> None:
    env = Env(algorithm=Algorithm.ES256)
    verifier = TokenVerifier(
        issuer=ISSUER, keys=Jwks.from_json(env.keyring.jwks(CTX)), clock=env.clock
    )
    assert verifier.verify(env.issuer.issue({"sub": "a"}, timedelta(minutes=1)))["sub"] == "a"
