"""`Keyring`: keysets by context, rotation, key states, lifetime and usage budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cryptorails import (
    Algorithm,
    ConfigurationError,
    Context,
    DecryptionError,
    Keyring,
    KeyState,
    PolicyError,
    Reason,
    Sealer,
)
from cryptorails.keys import _keyring as keyring_module
from cryptorails.testing import FixedClock

A = Context("tenant-a", "email")
B = Context("tenant-b", "email")


def test_keyset_is_created_on_first_use_with_the_default_algorithm() -> None:
    kr = Keyring.in_memory()
    assert kr.environment == "test"
    assert kr.find_keyset(A) is None
    ks = kr.keyset(A)
    assert ks.context == A
    assert ks.environment == "test"
    assert ks.algorithm is Algorithm.XAES_256_GCM
    assert [k.state for k in ks] == [KeyState.PRIMARY]
    assert 0 <= ks.primary.kid < 2**32
    assert kr.keyset(A) is ks
    assert kr.contexts() == [A]


def test_create_keyset_with_algorithm_and_refuse_twice() -> None:
    kr = Keyring.in_memory()
    ks = kr.create_keyset(A, algorithm=Algorithm.AES_256_GCM_SIV)
    assert ks.primary.algorithm is Algorithm.AES_256_GCM_SIV
    with pytest.raises(ConfigurationError, match="exists already"):
        kr.create_keyset(A)


def test_rotate_makes_new_primary_and_keeps_old_for_opening() -> None:
    kr = Keyring.in_memory()
    sealer = Sealer(kr)
    old_blob = sealer.seal(b"old", A)
    old = kr.keyset(A).primary.kid
    new = kr.rotate(A)
    ks = kr.keyset(A)
    assert new != old
    assert ks.primary.kid == new
    assert ks.get(old).state is KeyState.ACTIVE  # type: ignore[union-attr]
    assert sealer.open(old_blob, A) == b"old"
    assert sealer.seal(b"new", A)[2:6] == new.to_bytes(4, "big")


def test_rotate_can_switch_algorithm() -> None:
    kr = Keyring.in_memory()
    sealer = Sealer(kr)
    xaes_blob = sealer.seal(b"x", A)
    kr.rotate(A, algorithm=Algorithm.AES_256_GCM_SIV)
    ks = kr.keyset(A)
    assert ks.algorithm is Algorithm.AES_256_GCM_SIV
    blob = sealer.seal(b"y", A)
    assert blob[1] == Algorithm.AES_256_GCM_SIV.wire_id
    assert sealer.open(xaes_blob, A) == b"x"
    assert sealer.open(blob, A) == b"y"


def test_kids_are_unique_within_a_keyset(monkeypatch: pytest.MonkeyPatch) -> None:
    kr = Keyring.in_memory()
    draws = iter([7, 7, 7, 9])  # the random source repeats itself: the repeat is redrawn
    monkeypatch.setattr(keyring_module.secrets, "randbits", lambda bits: next(draws))
    assert kr.keyset(A).primary.kid == 7
    assert kr.rotate(A) == 9
    assert [k.kid for k in kr.keyset(A)] == [7, 9]


def test_state_transitions() -> None:
    kr = Keyring.in_memory()
    sealer = Sealer(kr)
    blob = sealer.seal(b"data", A)
    first = kr.keyset(A).primary.kid
    with pytest.raises(PolicyError, match="from primary to disabled; rotate first"):
        kr.set_state(A, first, KeyState.DISABLED)
    second = kr.rotate(A)
    with pytest.raises(PolicyError, match="from active to destroyed"):
        kr.set_state(A, first, KeyState.DESTROYED)

    kr.set_state(A, first, KeyState.DISABLED)
    with pytest.raises(DecryptionError) as info:
        sealer.open(blob, A)
    assert info.value.reason is Reason.KEY_DISABLED

    kr.set_state(A, first, KeyState.ACTIVE)  # enable
    assert sealer.open(blob, A) == b"data"

    kr.set_state(A, first, KeyState.PRIMARY)  # roll back a rotation
    ks = kr.keyset(A)
    assert ks.primary.kid == first
    assert ks.get(second).state is KeyState.ACTIVE  # type: ignore[union-attr]

    kr.set_state(A, second, KeyState.DISABLED)
    kr.set_state(A, second, KeyState.DESTROYED)
    destroyed = kr.keyset(A).get(second)
    assert destroyed is not None
    assert destroyed.state is KeyState.DESTROYED
    assert destroyed.material is None
    with pytest.raises(PolicyError, match="from destroyed to active"):
        kr.set_state(A, second, KeyState.ACTIVE)


def test_set_state_of_unknown_key_or_keyset() -> None:
    kr = Keyring.in_memory()
    with pytest.raises(ConfigurationError, match="no keyset"):
        kr.set_state(A, 1, KeyState.DISABLED)
    kr.keyset(A)
    with pytest.raises(ConfigurationError, match="no key 7"):
        kr.set_state(A, 7, KeyState.DISABLED)


def test_tenants_never_share_key_material() -> None:
    kr = Keyring.in_memory()
    materials = {
        kr.keyset(Context(f"tenant-{i}", purpose)).primary.material.reveal()  # type: ignore[union-attr]
        for i in range(20)
        for purpose in ("email", "phone")
    }
    assert len(materials) == 40


def test_expired_primary_rotates_on_next_seal() -> None:
    clock = FixedClock()
    kr = Keyring.in_memory(key_lifetime=timedelta(days=30), clock=clock)
    sealer = Sealer(kr)
    first_blob = sealer.seal(b"a", A)
    first = kr.keyset(A).primary
    assert first.not_after == clock.now() + timedelta(days=30)
    clock.advance(timedelta(days=29))
    sealer.seal(b"b", A)
    assert kr.keyset(A).primary.kid == first.kid
    clock.advance(timedelta(days=1))
    blob = sealer.seal(b"c", A)
    ks = kr.keyset(A)
    assert ks.primary.kid != first.kid
    assert blob[2:6] == ks.primary.kid.to_bytes(4, "big")
    assert sealer.open(first_blob, A) == b"a"  # an expired key still opens


def test_expired_primary_without_auto_rotate_refuses_to_seal() -> None:
    clock = FixedClock()
    kr = Keyring.in_memory(key_lifetime=timedelta(hours=1), clock=clock, auto_rotate=False)
    sealer = Sealer(kr)
    sealer.seal(b"a", A)
    clock.advance(timedelta(hours=1))
    with pytest.raises(PolicyError, match="expired"):
        sealer.seal(b"b", A)


def test_gcm_budget_rotates_exactly_when_spent() -> None:
    kr = Keyring.in_memory(algorithm=Algorithm.AES_256_GCM, usage_budget=10, lease_size=3)
    sealer = Sealer(kr)
    kids = [int.from_bytes(sealer.seal(b"m", A)[2:6], "big") for _ in range(25)]
    assert [kids.count(k) for k in dict.fromkeys(kids)] == [10, 10, 5]
    ks = kr.keyset(A)
    assert [k.state for k in ks] == [KeyState.ACTIVE, KeyState.ACTIVE, KeyState.PRIMARY]
    assert [k.uses for k in ks] == [10, 10, 6]  # leases are taken in blocks of 3


def test_gcm_budget_without_auto_rotate_raises_policy_error() -> None:
    kr = Keyring.in_memory(
        algorithm=Algorithm.AES_256_GCM, usage_budget=4, lease_size=4, auto_rotate=False
    )
    sealer = Sealer(kr)
    for _ in range(4):
        sealer.seal(b"m", A)
    with pytest.raises(PolicyError, match="spent its usage budget of 4"):
        sealer.seal(b"m", A)
    kr.rotate(A)
    sealer.seal(b"m", A)


def test_unbudgeted_algorithms_do_not_count() -> None:
    kr = Keyring.in_memory(usage_budget=2)
    sealer = Sealer(kr)
    for _ in range(5):
        sealer.seal(b"m", A)
    assert [k.uses for k in kr.keyset(A)] == [0]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"usage_budget": 0}, ValueError),
        ({"lease_size": 0}, ValueError),
        ({"key_lifetime": timedelta(0)}, ValueError),
        ({"algorithm": "XAES-256-GCM"}, TypeError),
    ],
)
def test_rejects_bad_options(options: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Keyring.in_memory(**options)


def test_rejects_non_context() -> None:
    kr = Keyring.in_memory()
    with pytest.raises(TypeError, match="Context"):
        kr.keyset(("tenant", "purpose"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Context"):
        kr.rotate("tenant")  # type: ignore[arg-type]


def test_algorithm_arguments_are_checked_everywhere() -> None:
    kr = Keyring.in_memory()
    with pytest.raises(TypeError, match="Algorithm"):
        kr.keyset(A, algorithm="EdDSA")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Algorithm"):
        kr.create_keyset(B, algorithm="XAES-256-GCM")  # type: ignore[arg-type]
    kr.keyset(A)
    with pytest.raises(TypeError, match="Algorithm"):
        kr.rotate(A, algorithm="XAES-256-GCM")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="verification-only"):
        Keyring.in_memory(algorithm=Algorithm.RS256)
    with pytest.raises(ConfigurationError, match="verification-only"):
        kr.create_keyset(B, algorithm=Algorithm.PS256)
    assert kr.find_keyset(B) is None


def test_a_keyset_never_mixes_aead_and_token_keys() -> None:
    from dataclasses import replace

    kr = Keyring.in_memory()
    aead = kr.keyset(A)
    token = kr.create_keyset(B, algorithm=Algorithm.ED25519)
    with pytest.raises(ConfigurationError, match="mixes AEAD and token keys"):
        replace(aead, keys=(*aead.keys, replace(token.primary, state=KeyState.ACTIVE)))
