"""Key states beyond the basic four (pre-activation, compromised), and `Sealer.rewrap`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cryptorails import ConfigurationError, Context, DecryptionError, PolicyError, Reason, Sealer
from cryptorails.aead import read_header
from cryptorails.algorithms import Algorithm
from cryptorails.keys import Keyring, KeyState, LocalKek
from cryptorails.testing import FixedClock

CTX = Context("tenant-a", "email")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def keyring(clock: FixedClock) -> Keyring:
    return Keyring.in_memory("prod", clock=clock)


def _state(keyring: Keyring, kid: int) -> KeyState:
    key = keyring.keyset(CTX).get(kid)
    assert key is not None
    return key.state


def test_nist_names_cover_every_state() -> None:
    assert {s.nist for s in KeyState} == {
        "pre-activation",
        "active",
        "deactivated",
        "suspended",
        "compromised",
        "destroyed",
    }
    assert KeyState.ACTIVE.nist == "deactivated"  # decrypt-only: processes, never applies


def test_pre_activation_key_neither_seals_nor_opens_until_promoted(
    keyring: Keyring, clock: FixedClock
) -> None:
    sealer = Sealer(keyring)
    old = keyring.keyset(CTX).primary.kid
    new = keyring.add_key(CTX)
    assert _state(keyring, new) is KeyState.PRE_ACTIVATION
    blob = sealer.seal(b"x", CTX)
    assert read_header(blob).kid == old  # type: ignore[union-attr]
    # A forged blob naming the pending kid is refused with its own reason.
    forged = blob[:2] + new.to_bytes(4, "big") + blob[6:]
    with pytest.raises(DecryptionError) as e:
        sealer.open(forged, CTX)
    assert e.value.reason is Reason.KEY_NOT_ACTIVE

    clock.advance(60)
    keyring.set_state(CTX, new, KeyState.PRIMARY)
    assert _state(keyring, old) is KeyState.ACTIVE
    key = keyring.keyset(CTX).get(old)
    assert key is not None
    assert key.changed_at == clock.now()
    assert read_header(sealer.seal(b"y", CTX)).kid == new  # type: ignore[union-attr]
    assert sealer.open(blob, CTX) == b"x"


def test_compromising_the_primary_rotates_in_the_same_change(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"secret record", CTX)
    old = keyring.keyset(CTX).primary.kid
    keyring.set_state(CTX, old, KeyState.COMPROMISED)
    keyset = keyring.keyset(CTX)
    assert keyset.primary.kid != old
    assert _state(keyring, old) is KeyState.COMPROMISED
    with pytest.raises(DecryptionError) as e:
        sealer.open(blob, CTX)
    assert e.value.reason is Reason.KEY_COMPROMISED


def test_rewrap_moves_data_off_a_compromised_key_and_open_still_refuses_it(
    keyring: Keyring,
) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"record", CTX, b"row-1")
    old = keyring.keyset(CTX).primary.kid
    keyring.set_state(CTX, old, KeyState.COMPROMISED)
    moved = sealer.rewrap(blob, CTX, b"row-1")
    assert read_header(moved).kid == keyring.keyset(CTX).primary.kid  # type: ignore[union-attr]
    assert sealer.open(moved, CTX, b"row-1") == b"record"
    # Rewrap's exception for compromised keys is not remembered by the open path.
    with pytest.raises(DecryptionError) as e:
        sealer.open(blob, CTX, b"row-1")
    assert e.value.reason is Reason.KEY_COMPROMISED


def test_rewrap_of_a_current_blob_returns_it_unchanged(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"record", CTX)
    assert sealer.rewrap(blob, CTX) == blob


def test_rewrap_after_rotation_uses_the_new_primary(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"record", CTX, b"aad")
    new = keyring.rotate(CTX)
    moved = sealer.rewrap(blob, CTX, b"aad")
    assert moved != blob
    assert read_header(moved).kid == new  # type: ignore[union-attr]
    assert sealer.open(moved, CTX, b"aad") == b"record"


@pytest.mark.parametrize(("ctx", "aad"), [(Context("tenant-b", "email"), b"aad"), (CTX, b"other")])
def test_rewrap_fails_like_open_for_another_tenant_or_aad(
    keyring: Keyring, ctx: Context, aad: bytes
) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"record", CTX, b"aad")
    keyring.rotate(CTX)
    keyring.keyset(ctx)
    with pytest.raises(DecryptionError):
        sealer.rewrap(blob, ctx, aad)


def test_rewrap_refuses_garbage(keyring: Keyring) -> None:
    with pytest.raises(DecryptionError):
        Sealer(keyring).rewrap(b"\x01\x01garbage", CTX)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (KeyState.PRE_ACTIVATION, KeyState.ACTIVE),
        (KeyState.COMPROMISED, KeyState.ACTIVE),
        (KeyState.COMPROMISED, KeyState.PRIMARY),
        (KeyState.DESTROYED, KeyState.COMPROMISED),
    ],
)
def test_forbidden_transitions(keyring: Keyring, start: KeyState, target: KeyState) -> None:
    kid = keyring.add_key(CTX)
    if start is KeyState.DESTROYED:
        keyring.set_state(CTX, kid, KeyState.DESTROYED)
    elif start is not KeyState.PRE_ACTIVATION:
        keyring.set_state(CTX, kid, start)
    with pytest.raises(PolicyError, match=f"cannot go from {start.value} to {target.value}"):
        keyring.set_state(CTX, kid, target)


def test_a_compromised_key_can_be_destroyed_and_its_blobs_say_so(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(b"x", CTX)
    kid = keyring.keyset(CTX).primary.kid
    keyring.set_state(CTX, kid, KeyState.COMPROMISED)
    keyring.set_state(CTX, kid, KeyState.DESTROYED)
    key = keyring.keyset(CTX).get(kid)
    assert key is not None
    assert key.material is None
    with pytest.raises(DecryptionError) as e:
        sealer.rewrap(blob, CTX)
    assert e.value.reason is Reason.KEY_DESTROYED


def test_add_key_keeps_the_keyset_kind(keyring: Keyring) -> None:
    keyring.keyset(CTX)
    with pytest.raises(ConfigurationError, match="cannot rotate to EdDSA"):
        keyring.add_key(CTX, algorithm=Algorithm.ED25519)


def test_changed_at_survives_the_file_keystore(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path
    kek = LocalKek.generate(path / "kek")
    keyring = Keyring.open(path / "ks", kek=kek, environment="prod", create=True, clock=clock)
    first = keyring.keyset(CTX).primary.kid
    clock.advance(timedelta(days=3).total_seconds())
    keyring.rotate(CTX)
    reopened = Keyring.open(path / "ks", kek=kek, environment="prod")
    key = reopened.keyset(CTX).get(first)
    assert key is not None
    assert key.changed_at == clock.now()
