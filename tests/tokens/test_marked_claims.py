"""`TokenVerifier(mark_claims=True)`: verified claims come back as a marked `Claims`."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta
from types import MappingProxyType

import pytest

from cryptorails import Context, Keyring, VerificationError
from cryptorails._sensitive import Claims
from cryptorails.testing import FixedClock
from cryptorails.tokens import TokenIssuer, TokenVerifier

CTX = Context("tenant-a", "api-tokens")
ISSUER = "https://issuer.example"


def setup(**verifier: object) -> tuple[TokenIssuer, TokenVerifier, Keyring, FixedClock]:
    clock = FixedClock()
    keyring = Keyring.in_memory(clock=clock)
    issuer = TokenIssuer(keyring, CTX, issuer=ISSUER, clock=clock)
    live = TokenVerifier.for_keyring(keyring, CTX, issuer=ISSUER, clock=clock, **verifier)  # type: ignore[arg-type]
    return issuer, live, keyring, clock


def test_default_result_is_a_mapping_proxy() -> None:
    issuer, verifier, _, _ = setup()
    claims = verifier.verify(issuer.issue({"sub": "alice"}, timedelta(minutes=5)))
    assert type(claims) is MappingProxyType


def test_marked_result_is_claims() -> None:
    issuer, verifier, _, _ = setup(mark_claims=True)
    claims = verifier.verify(issuer.issue({"sub": "alice", "roles": ["a"]}, timedelta(minutes=5)))
    assert type(claims) is Claims
    assert claims["sub"] == "alice"
    assert claims.get("roles") == ["a"]
    assert claims.get("missing") is None
    assert "sub" in claims
    assert "nope" not in claims
    assert set(claims) == {"sub", "roles", "iss", "iat", "exp", "jti"}
    assert len(claims) == 6
    assert dict(claims)["iss"] == ISSUER
    assert claims == dict(claims)
    with pytest.raises(TypeError):
        claims["sub"] = "mallory"  # type: ignore[index]


def test_marked_claims_print_as_placeholder() -> None:
    issuer, verifier, _, _ = setup(mark_claims=True)
    claims = verifier.verify(issuer.issue({"sub": "alice"}, timedelta(minutes=5)))
    assert repr(claims) == f"Claims(<redacted {len(claims)} claims>)"
    assert str(claims) == repr(claims)
    assert "alice" not in f"{claims} {claims!r} {[claims]}"


def test_marked_claims_refuse_pickling() -> None:
    claims = Claims({"sub": "alice"})
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(claims)
    assert copy.copy(claims) is claims
    assert copy.deepcopy(claims) is claims


def test_static_verifier_marks_too_and_failures_stay_opaque() -> None:
    clock = FixedClock()
    keyring = Keyring.in_memory(clock=clock)
    issuer = TokenIssuer(keyring, CTX, issuer=ISSUER, clock=clock)
    verifier = TokenVerifier(issuer=ISSUER, keys=keyring.keyset(CTX), clock=clock, mark_claims=True)
    token = issuer.issue({"sub": "bob"}, timedelta(minutes=5))
    assert type(verifier.verify(token)) is Claims
    clock.advance(3600)
    with pytest.raises(VerificationError) as info:
        verifier.verify(token)
    assert str(info.value) == "verification failed"


def test_mark_claims_must_be_a_bool() -> None:
    keyring = Keyring.in_memory()
    TokenIssuer(keyring, CTX, issuer=ISSUER)
    with pytest.raises(TypeError, match="mark_claims must be a bool"):
        TokenVerifier(issuer=ISSUER, keys=keyring.keyset(CTX), mark_claims="yes")  # type: ignore[arg-type]
