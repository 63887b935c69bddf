"""`Sealer`: authenticated encryption bound to tenant, purpose and environment.

The safe recipe: the caller chooses neither key nor nonce nor algorithm. The key is the
primary of the context's keyset; the nonce comes from the OS; the algorithm is the key's.
Opening looks the blob's key id up in the context's keyset only, uses that key's own
algorithm (a header naming another one fails), and every failure is the same
`DecryptionError`.
"""

from __future__ import annotations

from time import monotonic

from cryptography.exceptions import InvalidTag

from cryptorails._sensitive import Plaintext
from cryptorails.aead import _format
from cryptorails.aead._algorithms import Primitive, primitive_for
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.context import Context
from cryptorails.errors import DecryptionError, Reason
from cryptorails.keys import Key, Keyring, Keyset

__all__ = ["Sealer"]

# (primitive, associated data before the caller's aad, the same with an empty aad)
_Prepared = tuple[Primitive, bytes, bytes]
_BYTES = (bytes, bytearray, memoryview)
_SEAL = "seal"  # keyset cache slot of the primary; header bytes are the slots for opening
# pyca's AEADs take at most 2**31 - 1 bytes per call (larger inputs abort the process
# with a Rust panic): refuse them here, with the documented errors.
MAX_MESSAGE_BYTES = 2**31 - 1 - 64 * 1024
MAX_BLOB_BYTES = MAX_MESSAGE_BYTES + 64


class Sealer:
    """Seal and open records under a `Keyring`.

    Example::

        sealer = Sealer(Keyring.open("/etc/app/keys", kek=kek, environment="prod"))
        ctx = Context(tenant=session.tenant_id, purpose="user-email")
        blob = sealer.seal(b"alice@example.com", ctx)
        sealer.open(blob, ctx)  # b"alice@example.com"

    Args:
        keyring: the keyring holding the keys.
        mark_plaintext: if True, `open` returns a `Plaintext` (a `bytes` subclass that
            prints as ``Plaintext(<redacted N bytes>)`` and that `cryptorails.redact`
            masks wherever it is logged). Off by default: the unmarked path is unchanged.
    """

    def __init__(self, keyring: Keyring, *, mark_plaintext: bool = False) -> None:
        if not isinstance(keyring, Keyring):
            raise TypeError("Sealer needs a cryptorails Keyring")
        if not isinstance(mark_plaintext, bool):
            raise TypeError("mark_plaintext must be a bool")
        self._keyring = keyring
        self._mark_plaintext = mark_plaintext
        if mark_plaintext:
            # An instance attribute shadows the method, so the default `open` keeps its
            # hot path without a flag test on every call.
            self.open = self._open_marked  # type: ignore[method-assign]
        # ctx -> (deadline, keyring generation, keyset, what sealing needs): the keyring's
        # answer, kept until the keyring would look again (its deadline) or changes
        # anything (generation). Saves calls and lookups per operation on the hot path.
        self._keysets: dict[Context, tuple[float, int, Keyset, _Prepared | None]] = {}

    @property
    def keyring(self) -> Keyring:
        """The keyring this sealer uses."""
        return self._keyring

    def seal(self, plaintext: bytes, ctx: Context, aad: bytes = b"") -> bytes:
        """Encrypt and authenticate `plaintext` for `ctx`, binding `aad`.

        Raises:
            TypeError: plaintext or aad is not bytes-like, or ctx is not a Context.
            PolicyError: the key's usage budget or lifetime is spent and auto-rotation
                is off.
        """
        entry = self._keysets.get(ctx)
        if (
            entry is None
            or entry[3] is None  # remembered by `open`: not prepared for sealing yet
            or entry[1] != self._keyring._generation
            or monotonic() >= entry[0]
            or entry[2]._sealing_checks  # budgets and lifetimes: ask the keyring each time
        ):
            keyset = self._keyring._for_primary_use(ctx)
            prepared = keyset._cache.get(_SEAL) or _prepare(keyset, keyset.primary, _SEAL)
            self._remember(ctx, keyset)
        else:
            prepared = entry[3]
        size = len(plaintext) if plaintext.__class__ is bytes else memoryview(plaintext).nbytes
        if size > MAX_MESSAGE_BYTES:
            raise ValueError(f"plaintext larger than {MAX_MESSAGE_BYTES} bytes")
        if aad.__class__ is not bytes:
            aad = _aad_bytes(aad)
        if aad:
            return prepared[0].seal(plaintext, prepared[1] + len(aad).to_bytes(4, "big") + aad)
        return prepared[0].seal(plaintext, prepared[2])

    def open(self, blob: bytes, ctx: Context, aad: bytes = b"") -> bytes:
        """Verify and decrypt `blob` for `ctx` and `aad`.

        Raises:
            DecryptionError: for every failure (malformed, unknown or retired key,
                another tenant/purpose/environment/aad, tampering). Same text always;
                the cause is on `.reason` for internal logs.
            TypeError: aad is not bytes-like or ctx is not a Context.
        """
        if blob.__class__ is not bytes:
            if not isinstance(blob, _BYTES):
                raise DecryptionError(Reason.WRONG_TYPE)
            blob = bytes(blob)
        if len(blob) > MAX_BLOB_BYTES:
            raise DecryptionError(Reason.MALFORMED)
        entry = self._keysets.get(ctx)
        if entry is None or entry[1] != self._keyring._generation or monotonic() >= entry[0]:
            keyset = self._keyring.find_keyset(ctx)
            if keyset is not None:
                self._remember(ctx, keyset)
        else:
            keyset = entry[2]
        # The header names version, algorithm and kid; a snapshot's cache maps each header
        # it has vetted to its key, so the checks below run once per key and snapshot.
        hdr = blob[: _format.HEADER_SIZE]
        prepared = keyset._cache.get(hdr) if keyset is not None else None
        if prepared is None:
            keyset, prepared = self._vet(blob, ctx, hdr)
        if aad.__class__ is not bytes:
            aad = _aad_bytes(aad)
        full_aad = prepared[1] + len(aad).to_bytes(4, "big") + aad if aad else prepared[2]
        try:
            return prepared[0].open(blob, full_aad)
        except (InvalidTag, ValueError):
            raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None

    def rewrap(self, blob: bytes, ctx: Context, aad: bytes = b"") -> bytes:
        """Re-encrypt `blob` under the current primary key of `ctx`; the plaintext never
        reaches the caller.

        A blob already under the primary comes back unchanged (after it is verified). A
        blob under a *compromised* key is opened here — and only here — so that data can
        be moved off that key; `open` refuses such keys.

        Raises:
            DecryptionError: as `open` (the blob does not open under `ctx` and `aad`).
            PolicyError: as `seal`.
        """
        try:
            plaintext = Sealer.open(self, blob, ctx, aad)
        except DecryptionError as e:
            if e.reason is not Reason.KEY_COMPROMISED:
                raise
            blob = bytes(blob)
            _, prepared = self._vet(blob, ctx, blob[: _format.HEADER_SIZE], compromised_ok=True)
            if aad.__class__ is not bytes:
                aad = _aad_bytes(aad)
            try:
                plaintext = prepared[0].open(
                    blob, prepared[1] + len(aad).to_bytes(4, "big") + aad if aad else prepared[2]
                )
            except (InvalidTag, ValueError):
                raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None
        keyset = self._keyring.find_keyset(ctx)
        if keyset is not None and bytes(blob[: _format.HEADER_SIZE]) == _format.header(
            keyset.primary.algorithm, keyset.primary.kid
        ):
            return bytes(blob)
        return self.seal(plaintext, ctx, aad)

    def _open_marked(self, blob: bytes, ctx: Context, aad: bytes = b"") -> bytes:
        """`open`, with the result marked as `Plaintext` (see `mark_plaintext`)."""
        return Plaintext(Sealer.open(self, blob, ctx, aad))

    @property
    def mark_plaintext(self) -> bool:
        """Whether `open` returns marked `Plaintext`."""
        return self._mark_plaintext

    def _remember(self, ctx: Context, keyset: Keyset) -> None:
        kr = self._keyring
        # Generation first, cache second: the keyring writes them in the other order, so
        # a change racing with us leaves an entry that is already stale, never one that
        # pairs an old keyset with the new generation.
        generation = kr._generation
        cached = kr._cache.get(ctx)
        if cached is not None and cached[0] is keyset:
            self._keysets[ctx] = (cached[2], generation, keyset, keyset._cache.get(_SEAL))

    def _vet(
        self, blob: bytes, ctx: Context, hdr: bytes, *, compromised_ok: bool = False
    ) -> tuple[Keyset, _Prepared]:
        """Check an unverified header against the keyset of `ctx` (and only that one).

        `compromised_ok` (rewrap only) accepts a compromised key, without remembering it
        in the keyset's cache, so `open` keeps refusing it.
        """
        unverified = _format.parse_header(hdr)
        if unverified is None:
            raise DecryptionError(Reason.MALFORMED)
        if unverified.version != _format.VERSION:
            raise DecryptionError(Reason.UNSUPPORTED_VERSION)
        algorithm = Algorithm.from_wire_id(unverified.algorithm_id)
        if algorithm is None:
            raise DecryptionError(Reason.UNKNOWN_ALGORITHM)
        # Another process may have rotated since our last look: re-check the same
        # keyset (a cheap stat when nothing changed). Never another keyset.
        keyset = self._keyring.refresh(ctx)
        key = keyset.get(unverified.kid) if keyset is not None else None
        if keyset is None or key is None:
            shredded = keyset is None and self._keyring.tombstone(ctx.tenant) is not None
            raise DecryptionError(Reason.TENANT_SHREDDED if shredded else Reason.UNKNOWN_KEY)
        refusal = key.refusal
        if refusal is not None and not (compromised_ok and refusal is Reason.KEY_COMPROMISED):
            raise DecryptionError(refusal)
        # The key decides the algorithm; the header may only agree with it.
        if key.algorithm is not algorithm:
            raise DecryptionError(Reason.ALGORITHM_MISMATCH)
        return keyset, _prepare(keyset, key, None if refusal else hdr)


def _aad_bytes(aad: object) -> bytes:
    """Associated data as bytes: its length prefix counts bytes, whatever the buffer."""
    if not isinstance(aad, _BYTES):
        raise TypeError("aad must be bytes")
    return bytes(aad)


def _prepare(keyset: Keyset, key: Key, slot: str | bytes | None) -> _Prepared:
    """Build (once per key and snapshot) what sealing and opening under `key` need;
    remembered in the keyset's cache under `slot` (None: not remembered)."""
    assert key.material is not None  # destroyed keys are rejected before this
    keyset.require(KeyKind.AEAD, "a Sealer needs an AEAD keyset")
    hdr = _format.header(key.algorithm, key.kid)
    primitive: Primitive | None = key._cache.get("primitive")
    if primitive is None:
        primitive = primitive_for(key.algorithm, key.material.reveal(), hdr)
        key._cache["primitive"] = primitive
    base = _format.aad_base(hdr, keyset.context, keyset.environment)
    prepared = (primitive, base, base + bytes(4))
    if slot is not None:
        keyset._cache[slot] = prepared
    return prepared
