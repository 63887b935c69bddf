"""`TrustedIssuers`: tenants never share trust."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cryptorails import (
    Algorithm,
    ConfigurationError,
    Context,
    Keyring,
    Reason,
    VerificationError,
)
from cryptorails.tokens import TokenIssuer, TokenVerifier, TrustedIssuers

ISSUER = "https://issuer.example"  # the same iss for both tenants, on purpose
A = Context("acme", "api-tokens")
B = Context("globex", "api-tokens")


@pytest.fixture
def keyring() -> Keyring:
    kr = Keyring.in_memory()
    kr.create_keyset(A, algorithm=Algorithm.ED25519)
    kr.create_keyset(B, algorithm=Algorithm.HS256)
    return kr


def _trusted(keyring: Keyring) -> TrustedIssuers:
    trusted = TrustedIssuers({"acme": TokenVerifier.for_keyring(keyring, A, issuer=ISSUER)})
    trusted.add("globex", TokenVerifier.for_keyring(keyring, B, issuer=ISSUER))
    return trusted


def test_each_tenant_verifies_with_its_own_keys(keyring: Keyring) -> None:
    trusted = _trusted(keyring)
    token_a = TokenIssuer(keyring, A, issuer=ISSUER).issue({"t": "a"}, timedelta(minutes=5))
    token_b = TokenIssuer(keyring, B, issuer=ISSUER).issue({"t": "b"}, timedelta(minutes=5))
    assert trusted.verify("acme", token_a)["t"] == "a"
    assert trusted.verify("globex", token_b)["t"] == "b"
    for tenant, token in (("acme", token_b), ("globex", token_a)):
        with pytest.raises(VerificationError) as info:
            trusted.verify(tenant, token)
        assert str(info.value) == "verification failed"
        assert info.value.reason is Reason.UNKNOWN_KEY
    assert "acme" in trusted
    assert len(trusted) == 2


def test_unknown_tenant(keyring: Keyring) -> None:
    token = TokenIssuer(keyring, A, issuer=ISSUER).issue({}, timedelta(minutes=5))
    with pytest.raises(VerificationError) as info:
        _trusted(keyring).verify("initech", token)
    assert str(info.value) == "verification failed"
    assert info.value.reason is Reason.UNKNOWN_TENANT


def test_registration_rules(keyring: Keyring) -> None:
    trusted = _trusted(keyring)
    verifier = TokenVerifier.for_keyring(keyring, A, issuer=ISSUER)
    with pytest.raises(ConfigurationError, match="already has a verifier"):
        trusted.add("acme", verifier)
    trusted.add("acme-eu", verifier)
    with pytest.raises(ConfigurationError, match="must not serve two tenants"):
        trusted.add("acme-us", verifier)
    with pytest.raises(TypeError):
        trusted.add("x", object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="forbidden character"):
        trusted.add("bad\ntenant", TokenVerifier.for_keyring(keyring, A, issuer=ISSUER))
    with pytest.raises(TypeError):
        trusted.verify(None, "a.b.c")  # type: ignore[arg-type]
