"""`Sealer`: round trips, the blob format, and one opaque error for every failure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptorails import (
    Algorithm,
    Context,
    DecryptionError,
    KeyKind,
    Keyring,
    KeyState,
    Reason,
    Sealer,
)
from cryptorails.keys._stores import MemoryKeystore

A = Context("tenant-a", "email")
B = Context("tenant-b", "email")
ALGORITHMS = [a for a in Algorithm if a.kind is KeyKind.AEAD]
NONCE_SIZES = {
    Algorithm.XAES_256_GCM: 24,
    Algorithm.AES_256_GCM_SIV: 12,
    Algorithm.AES_256_GCM: 12,
}


def sealer_for(algorithm: Algorithm, environment: str = "test") -> Sealer:
    return Sealer(Keyring.in_memory(environment, algorithm=algorithm))


def open_fails(sealer: Sealer, blob: object, ctx: Context, aad: bytes = b"") -> Reason:
    """Open must fail with the one fixed text; return the internal reason."""
    with pytest.raises(DecryptionError) as info:
        sealer.open(blob, ctx, aad)  # type: ignore[arg-type]
    err = info.value
    assert str(err) == "decryption failed"
    assert repr(err) == "DecryptionError()"
    assert err.args == ()
    assert err.__cause__ is None
    assert err.__suppress_context__ or err.__context__ is None
    return err.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_blob_layout(algorithm: Algorithm) -> None:
    sealer = sealer_for(algorithm)
    blob = sealer.seal(b"hello", A)
    kid = sealer.keyring.keyset(A).primary.kid
    assert blob[0] == 0x01
    assert blob[1] == algorithm.wire_id
    assert blob[2:6] == kid.to_bytes(4, "big")
    assert len(blob) == 6 + NONCE_SIZES[algorithm] + len(b"hello") + 16
    assert sealer.open(blob, A) == b"hello"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_nonces_are_fresh(algorithm: Algorithm) -> None:
    sealer = sealer_for(algorithm)
    size = NONCE_SIZES[algorithm]
    nonces = {sealer.seal(b"same", A)[6 : 6 + size] for _ in range(2000)}
    assert len(nonces) == 2000


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_accepts_bytes_like(algorithm: Algorithm) -> None:
    sealer = sealer_for(algorithm)
    blob = sealer.seal(bytearray(b"data"), A, aad=memoryview(b"row-1"))
    assert sealer.open(bytearray(blob), A, aad=b"row-1") == b"data"
    assert sealer.open(memoryview(blob), A, aad=bytearray(b"row-1")) == b"data"
    assert sealer.open(blob, A, b"row-1") == b"data"
    assert sealer.seal(b"", A) != sealer.seal(b"", A)
    assert sealer.open(sealer.seal(b"", A), A) == b""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_failure_is_the_same_error(algorithm: Algorithm) -> None:
    sealer = sealer_for(algorithm)
    blob = sealer.seal(b"payload", A, aad=b"row-1")
    kr = sealer.keyring
    reasons = {
        "empty": open_fails(sealer, b"", A, b"row-1"),
        "wrong type str": open_fails(sealer, "text", A, b"row-1"),
        "wrong type None": open_fails(sealer, None, A, b"row-1"),
        "wrong type int": open_fails(sealer, 5, A, b"row-1"),
        "wrong type list": open_fails(sealer, [1, 2], A, b"row-1"),
        "version": open_fails(sealer, b"\x02" + blob[1:], A, b"row-1"),
        "algorithm id": open_fails(sealer, blob[:1] + b"\x7f" + blob[2:], A, b"row-1"),
        "unknown kid": open_fails(
            sealer,
            blob[:2] + (int.from_bytes(blob[2:6], "big") ^ 1).to_bytes(4, "big") + blob[6:],
            A,
            b"row-1",
        ),
        "wrong tenant": open_fails(sealer, blob, B, b"row-1"),
        "wrong purpose": open_fails(sealer, blob, Context("tenant-a", "phone"), b"row-1"),
        "wrong aad": open_fails(sealer, blob, A, b"row-2"),
        "missing aad": open_fails(sealer, blob, A),
        "bit flip in tag": open_fails(sealer, blob[:-1] + bytes([blob[-1] ^ 0x80]), A, b"row-1"),
    }
    for cut in range(len(blob)):
        reasons[f"truncated to {cut}"] = open_fails(sealer, blob[:cut], A, b"row-1")
    other = next(a for a in ALGORITHMS if a is not algorithm)
    reasons["header names another algorithm"] = open_fails(
        sealer, blob[:1] + bytes([other.wire_id]) + blob[2:], A, b"row-1"
    )
    kid = kr.keyset(A).primary.kid
    kr.rotate(A)
    kr.set_state(A, kid, KeyState.DISABLED)
    reasons["disabled key"] = open_fails(sealer, blob, A, b"row-1")
    kr.set_state(A, kid, KeyState.DESTROYED)
    reasons["destroyed key"] = open_fails(sealer, blob, A, b"row-1")

    assert reasons["wrong type str"] is Reason.WRONG_TYPE
    assert reasons["version"] is Reason.UNSUPPORTED_VERSION
    assert reasons["algorithm id"] is Reason.UNKNOWN_ALGORITHM
    assert reasons["unknown kid"] is Reason.UNKNOWN_KEY
    assert reasons["wrong tenant"] is Reason.UNKNOWN_KEY  # B's keyset does not exist
    assert reasons["wrong aad"] is Reason.AUTHENTICATION_FAILED
    assert reasons["header names another algorithm"] is Reason.ALGORITHM_MISMATCH
    assert reasons["disabled key"] is Reason.KEY_DISABLED
    assert reasons["destroyed key"] is Reason.KEY_DESTROYED
    assert reasons["truncated to 0"] is Reason.MALFORMED


def test_open_never_creates_a_keyset() -> None:
    sealer = sealer_for(Algorithm.XAES_256_GCM)
    blob = sealer.seal(b"x", A)
    open_fails(sealer, blob, B)
    assert sealer.keyring.find_keyset(B) is None
    assert sealer.keyring.contexts() == [A]


def _transplant(source: Keyring, ctx: Context, target: Keyring, target_ctx: Context) -> None:
    """Put a copy of `ctx`'s keyset (same key material) into `target` under `target_ctx`."""
    store = target._store
    assert isinstance(store, MemoryKeystore)
    store._keysets[target_ctx] = replace(
        source.keyset(ctx), context=target_ctx, environment=target.environment
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_context_is_bound_even_with_the_same_key(algorithm: Algorithm) -> None:
    # Simulates a keystore mix-up: another tenant's (or environment's) keyset holds A's
    # exact key. The kid is found, but tenant and environment are bound into the
    # associated data, so the blob still fails.
    sealer = sealer_for(algorithm)
    blob = sealer.seal(b"tenant a data", A)
    _transplant(sealer.keyring, A, sealer.keyring, B)
    assert open_fails(sealer, blob, B) is Reason.AUTHENTICATION_FAILED

    staging = Keyring.in_memory("staging", algorithm=algorithm)
    _transplant(sealer.keyring, A, staging, A)
    assert open_fails(Sealer(staging), blob, A) is Reason.AUTHENTICATION_FAILED
    assert sealer.open(blob, A) == b"tenant a data"


@pytest.mark.parametrize("bad", ["text", None, 3])
def test_wrong_argument_types(bad: object) -> None:
    sealer = sealer_for(Algorithm.XAES_256_GCM)
    blob = sealer.seal(b"x", A)
    with pytest.raises(TypeError):
        sealer.seal(bad, A)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sealer.seal(b"x", A, aad=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sealer.open(blob, A, aad=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sealer.seal(b"x", bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sealer.open(blob, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Sealer(bad)  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------

SEALERS = {a: sealer_for(a) for a in ALGORITHMS}
labels = st.text(st.characters(whitelist_categories=("L", "N", "P")), min_size=1, max_size=20)


@given(st.sampled_from(ALGORITHMS), st.binary(max_size=2048), st.binary(max_size=64))
def test_open_inverts_seal(algorithm: Algorithm, plaintext: bytes, aad: bytes) -> None:
    sealer = SEALERS[algorithm]
    assert sealer.open(sealer.seal(plaintext, A, aad), A, aad) == plaintext


@given(st.sampled_from(ALGORITHMS), st.binary(max_size=256), st.data())
def test_any_single_bit_flip_fails(
    algorithm: Algorithm, plaintext: bytes, data: st.DataObject
) -> None:
    sealer = SEALERS[algorithm]
    blob = bytearray(sealer.seal(plaintext, A))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    open_fails(sealer, bytes(blob), A)


@given(st.sampled_from(ALGORITHMS), labels, labels, st.binary(max_size=16), st.binary(max_size=16))
def test_any_change_of_context_or_aad_fails(
    algorithm: Algorithm, tenant: str, purpose: str, aad: bytes, other_aad: bytes
) -> None:
    sealer = SEALERS[algorithm]
    ctx = Context(tenant, purpose)
    blob = sealer.seal(b"record", ctx, aad)
    if other_aad != aad:
        open_fails(sealer, blob, ctx, other_aad)
    open_fails(sealer, blob, Context(tenant + "x", purpose), aad)
    open_fails(sealer, blob, Context(tenant, purpose + "x"), aad)
    assert sealer.open(blob, ctx, aad) == b"record"


@given(st.lists(labels, min_size=2, max_size=6, unique=True))
def test_tenants_never_share_key_material(tenants: list[str]) -> None:
    kr = Keyring.in_memory()
    materials = [kr.keyset(Context(t, "email")).primary.material for t in tenants]
    reveals = {m.reveal() for m in materials if m is not None}
    assert len(reveals) == len(tenants)


def test_aad_is_bound_by_its_bytes_whatever_the_buffer() -> None:
    from array import array

    sealer = sealer_for(Algorithm.XAES_256_GCM)
    words = array("I", [1, 2])  # 2 items, 8 bytes
    blob = sealer.seal(b"x", A, aad=memoryview(words))
    assert sealer.open(blob, A, aad=words.tobytes()) == b"x"
    assert sealer.open(sealer.seal(b"y", A, aad=words.tobytes()), A, aad=memoryview(words)) == b"y"


def test_oversized_inputs_get_the_documented_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptorails.aead import sealer as sealer_module

    sealer = sealer_for(Algorithm.XAES_256_GCM)
    blob = sealer.seal(b"0123456789", A)
    monkeypatch.setattr(sealer_module, "MAX_MESSAGE_BYTES", 8)
    monkeypatch.setattr(sealer_module, "MAX_BLOB_BYTES", 40)
    with pytest.raises(ValueError, match="plaintext larger than 8 bytes"):
        sealer.seal(b"0123456789", A)
    assert open_fails(sealer, blob, A) is Reason.MALFORMED
