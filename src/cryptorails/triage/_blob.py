"""Why a sealed blob does not open: an offline diagnosis over the whole keystore.

On the serving path a blob's kid is only ever looked up in the keyset of the caller's
context, and every failure is the same opaque `DecryptionError`. Here, offline and for
the operator, the kid is looked up in *every* keyset of the keystore (`Keyring.contexts`)
and in the ledger's tombstones, so the answer can be precise: the blob belongs to another
tenant, its key was disabled or destroyed, the tenant was shredded, the kid is unknown,
or the key is right and the tag fails. The plaintext is never returned, only its length.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cryptorails.aead import Sealer, _format, read_header
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.keys import Keyring, KeyState, Ledger, Tombstone

__all__ = ["BlobDiagnosis", "BlobOwner", "BlobVerdict", "diagnose_blob"]

_TAG_SIZE = 16


class BlobVerdict(enum.Enum):
    """The diagnosis, one value per distinct cause."""

    OPENS = "opens"
    WRONG_TENANT = "wrong_tenant"
    WRONG_PURPOSE = "wrong_purpose"
    KEY_DISABLED = "key_disabled"
    KEY_DESTROYED = "key_destroyed"
    KEY_COMPROMISED = "key_compromised"
    KEY_NOT_ACTIVE = "key_not_active"
    TENANT_SHREDDED = "tenant_shredded"
    UNKNOWN_KID = "unknown_kid"
    TAG_MISMATCH = "tag_mismatch"
    ALGORITHM_MISMATCH = "algorithm_mismatch"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class BlobOwner:
    """A keyset holding the blob's kid, and what happened when it was tried."""

    context: Context
    state: KeyState
    algorithm: Algorithm
    opens: bool | None
    """None: not tried (the key may not open, or the tenant is shredded)."""
    reason: Reason | None
    """Why it did not open (the `DecryptionError` reason), if it was refused."""
    plaintext_length: int | None
    opens_with_empty_aad: bool = False
    """The given aad failed but an empty one works."""
    shredded: bool = False


@dataclass(frozen=True)
class BlobDiagnosis:
    """Everything `diagnose_blob` found out; `verdict` and `explanation` sum it up."""

    length: int
    version: int | None
    algorithm: Algorithm | None
    kid: int | None
    nonce_length: int | None
    environment: str
    context: Context | None
    owners: tuple[BlobOwner, ...]
    tombstones: tuple[Tombstone, ...]
    verdict: BlobVerdict
    explanation: str
    notes: tuple[str, ...] = ()
    """Keysets that could not be read (their kid is unknown to the diagnosis)."""

    @property
    def opens(self) -> bool:
        return self.verdict is BlobVerdict.OPENS

    @property
    def plaintext_length(self) -> int | None:
        return next((o.plaintext_length for o in self.owners if o.opens), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "opens": self.opens,
            "verdict": self.verdict.value,
            "explanation": self.explanation,
            "blob": {
                "length": self.length,
                "version": self.version,
                "algorithm": self.algorithm.value if self.algorithm else None,
                "kid": self.kid,
                "nonce_length": self.nonce_length,
            },
            "environment": self.environment,
            "checked_as": None
            if self.context is None
            else {"tenant": self.context.tenant, "purpose": self.context.purpose},
            "owners": [
                {
                    "tenant": o.context.tenant,
                    "purpose": o.context.purpose,
                    "state": o.state.value,
                    "algorithm": o.algorithm.value,
                    "opens": o.opens,
                    "reason": o.reason.value if o.reason else None,
                    "plaintext_length": o.plaintext_length,
                    "opens_with_empty_aad": o.opens_with_empty_aad,
                    "shredded": o.shredded,
                }
                for o in self.owners
            ],
            "tombstones": [
                {
                    "tenant": t.tenant,
                    "shredded_at": t.shredded_at.isoformat(),
                    "lists_kid": self.kid in t.kids,
                }
                for t in self.tombstones
            ],
            "plaintext_length": self.plaintext_length,
            "notes": list(self.notes),
        }


def diagnose_blob(
    keyring: Keyring,
    blob: bytes,
    ctx: Context | None = None,
    aad: bytes = b"",
    *,
    ledger: Ledger | None = None,
) -> BlobDiagnosis:
    """Diagnose `blob` against every keyset of `keyring` (operator tooling, offline).

    Args:
        ctx: the context the blob was expected to open under; without it, the blob
            "opens" when exactly one keyset opens it.
        aad: the associated data to open with.
        ledger: where tombstones of shredded tenants are (default: the keyring's).
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise TypeError("blob must be bytes")
    blob = bytes(blob)
    ledger = ledger if ledger is not None else keyring.ledger
    env = keyring.environment
    found = _Findings(len(blob), env, ctx)
    header = read_header(blob)
    if header is None:
        return found.done(BlobVerdict.MALFORMED, f"{len(blob)} bytes: shorter than a header")
    found.version = header.version
    if header.version != _format.VERSION:
        return found.done(
            BlobVerdict.MALFORMED,
            f"version byte {header.version}; cryptorails blobs are version {_format.VERSION} "
            "(not a cryptorails blob, or a truncated/shifted one)",
        )
    if header.algorithm is None:
        return found.done(
            BlobVerdict.MALFORMED, f"algorithm id {blob[1]} names no cryptorails AEAD"
        )
    found.algorithm, found.kid = header.algorithm, header.kid
    found.nonce_length = _format.nonce_size(header.algorithm)
    tombs = ledger.tombstones(env) if ledger is not None else []
    shredded = {t.tenant: t for t in tombs}
    found.tombstones = tuple(
        t for t in tombs if header.kid in t.kids or (ctx is not None and t.tenant == ctx.tenant)
    )
    found.owners = tuple(_owners(keyring, blob, header.kid, aad, set(shredded), found.notes))
    minimum = _format.HEADER_SIZE + found.nonce_length + _TAG_SIZE
    if len(blob) < minimum:
        return found.done(
            BlobVerdict.MALFORMED,
            f"{len(blob)} bytes; a {header.algorithm.value} blob has at least {minimum} "
            "(header, nonce, tag): truncated",
        )
    if ctx is not None and ctx.tenant in shredded:
        return found.done(
            BlobVerdict.TENANT_SHREDDED, _shredded_text(shredded[ctx.tenant], ctx, header.kid)
        )
    if ctx is not None:
        own = next((o for o in found.owners if o.context == ctx), None)
        if own is not None:
            return found.done(*_judge(own, found))
        if found.owners:
            return found.done(*_elsewhere(found, ctx))
    elif found.owners:
        openers = [o for o in found.owners if o.opens]
        if len(openers) == 1:
            return found.done(*_judge(openers[0], found))
        return found.done(*_judge(found.owners[0], found))
    listed = next((t for t in found.tombstones if header.kid in t.kids), None)
    if listed is not None:
        return found.done(BlobVerdict.TENANT_SHREDDED, _shredded_text(listed, ctx, header.kid))
    missing = ""
    if ctx is not None and ctx not in keyring.contexts():
        missing = f" (and there is no keyset for {_name(ctx)} at all)"
    return found.done(
        BlobVerdict.UNKNOWN_KID,
        f"kid {_kid(header.kid)} is in no keyset of this keystore (environment {env}){missing}: "
        "the blob was sealed in another environment or with another keystore, its key was "
        "destroyed and removed, or the kid in the header was altered",
    )


class _Findings:
    """What is known so far; `done` freezes it into a `BlobDiagnosis`."""

    def __init__(self, length: int, environment: str, ctx: Context | None) -> None:
        self.length, self.environment, self.ctx = length, environment, ctx
        self.version: int | None = None
        self.algorithm: Algorithm | None = None
        self.kid: int | None = None
        self.nonce_length: int | None = None
        self.owners: tuple[BlobOwner, ...] = ()
        self.tombstones: tuple[Tombstone, ...] = ()
        self.notes: list[str] = []

    def done(self, verdict: BlobVerdict, explanation: str) -> BlobDiagnosis:
        return BlobDiagnosis(
            self.length,
            self.version,
            self.algorithm,
            self.kid,
            self.nonce_length,
            self.environment,
            self.ctx,
            self.owners,
            self.tombstones,
            verdict,
            explanation,
            tuple(self.notes),
        )


def _owners(
    keyring: Keyring, blob: bytes, kid: int, aad: bytes, shredded: set[str], notes: list[str]
) -> list[BlobOwner]:
    """Every AEAD keyset holding `kid`, each tried with the library's own `Sealer`."""
    sealer = Sealer(keyring)
    owners = []
    for ctx in sorted(keyring.contexts(), key=lambda c: (c.tenant, c.purpose)):
        try:
            keyset = keyring.find_keyset(ctx)
        except ConfigurationError as e:  # e.g. a tenant KEK that is gone
            notes.append(f"keyset {_name(ctx)} could not be read: {e}")
            continue
        key = keyset.get(kid) if keyset is not None else None
        if keyset is None or key is None or keyset.algorithm.kind is not KeyKind.AEAD:
            continue
        if ctx.tenant in shredded:
            # A keyset of a shredded tenant (a keystore copy from before the shred): its
            # keys must stay dead, so they are not even tried.
            owners.append(BlobOwner(ctx, key.state, key.algorithm, None, None, None, shredded=True))
            continue
        if key.refusal is not None:
            owners.append(BlobOwner(ctx, key.state, key.algorithm, None, key.refusal, None))
            continue
        try:
            length = len(sealer.open(blob, ctx, aad))
        except DecryptionError as e:
            empty = False
            if aad and e.reason is Reason.AUTHENTICATION_FAILED:
                try:
                    sealer.open(blob, ctx, b"")
                    empty = True
                except DecryptionError:
                    pass
            owners.append(BlobOwner(ctx, key.state, key.algorithm, False, e.reason, None, empty))
        else:
            owners.append(BlobOwner(ctx, key.state, key.algorithm, True, None, length))
    return owners


def _judge(owner: BlobOwner, found: _Findings) -> tuple[BlobVerdict, str]:
    """The verdict when `owner` is the keyset the blob was checked against."""
    kid = _kid(found.kid or 0)
    where = f"key {kid} of {_name(owner.context)}"
    if owner.opens:
        extra = "" if found.ctx is not None else f"; it belongs to {_name(owner.context)}"
        return (
            BlobVerdict.OPENS,
            f"opens under {where} (plaintext {owner.plaintext_length} bytes){extra}",
        )
    if owner.shredded:
        return BlobVerdict.TENANT_SHREDDED, (
            f"{where} belongs to shredded tenant {owner.context.tenant} (a keystore copy from "
            "before the shred?); its data stays unrecoverable by design"
        )
    state = owner.state
    if state is KeyState.DESTROYED:
        return BlobVerdict.KEY_DESTROYED, (
            f"rotated away: {where} is destroyed; its material is erased and the blob is "
            "unrecoverable"
        )
    if state is KeyState.DISABLED:
        return BlobVerdict.KEY_DISABLED, (
            f"rotated away: {where} is disabled (material kept). If this data is still "
            "needed, enable the key again (cryptorails keys enable) and rewrap the data"
        )
    if state is KeyState.COMPROMISED:
        return BlobVerdict.KEY_COMPROMISED, (
            f"{where} is marked compromised: it opens nothing on the serving path; move "
            "the data to a new key with Sealer.rewrap, and treat it as exposed"
        )
    if state is KeyState.PRE_ACTIVATION:
        return BlobVerdict.KEY_NOT_ACTIVE, (
            f"{where} is not activated yet (pre_activation): a host sealed with it before "
            "it was promoted, or its keystore differs from this one"
        )
    if owner.reason is Reason.ALGORITHM_MISMATCH:
        return BlobVerdict.ALGORITHM_MISMATCH, (
            f"the header says {found.algorithm.value if found.algorithm else '?'} but {where} "
            f"is {owner.algorithm.value}: the header was altered"
        )
    if owner.reason is Reason.TENANT_SHREDDED:
        return BlobVerdict.TENANT_SHREDDED, f"{where}: tenant shredded (ledger tombstone)"
    if owner.opens_with_empty_aad:
        return BlobVerdict.TAG_MISMATCH, (
            f"right key ({where}) but the tag fails with the aad given; it opens with an "
            "empty aad, so it was sealed without aad"
        )
    return BlobVerdict.TAG_MISMATCH, (
        f"right key ({where}) but the tag fails: the aad differs from the one it was "
        "sealed with, or the blob was modified (or sealed in another environment)"
    )


def _elsewhere(found: _Findings, ctx: Context) -> tuple[BlobVerdict, str]:
    """The verdict when the kid is not in `ctx`'s keyset but in other keysets."""
    owners = found.owners
    names = ", ".join(_name(o.context) for o in owners)
    opened = [o for o in owners if o.opens]
    if opened:
        tail = (
            f"; it opens under {_name(opened[0].context)} (plaintext "
            f"{opened[0].plaintext_length} bytes), which confirms whose data it is"
        )
    else:
        tail = (
            "; it does not open there either ("
            + ", ".join(
                f"{_name(o.context)}: {o.reason.value if o.reason else 'shredded'}" for o in owners
            )
            + ")"
        )
    kid = _kid(found.kid or 0)
    if all(o.context.tenant == ctx.tenant for o in owners):
        return BlobVerdict.WRONG_PURPOSE, (
            f"wrong purpose: kid {kid} belongs to {names}, not to {_name(ctx)}{tail}. The "
            "code path read a record sealed for another purpose"
        )
    return BlobVerdict.WRONG_TENANT, (
        f"wrong tenant: kid {kid} belongs to {names}, not to {_name(ctx)}{tail}. A request "
        f"for {ctx.tenant} was given another tenant's record: check how the record is "
        "looked up (a tenant id from the request, a query without a tenant filter)"
    )


def _shredded_text(tomb: Tombstone, ctx: Context | None, kid: int) -> str:
    whose = f"tenant {tomb.tenant}"
    if ctx is not None and ctx.tenant != tomb.tenant:
        whose = f"kid {_kid(kid)} belonged to tenant {tomb.tenant}, which"
    listed = " (the tombstone lists this kid)" if kid in tomb.kids else ""
    return (
        f"tenant shredded: {whose} was shredded at {tomb.shredded_at.isoformat()}{listed}; "
        "its keys are gone for good and its data is unrecoverable by design"
    )


def _kid(kid: int) -> str:
    return f"{kid} (0x{kid:08x})"


def _name(ctx: Context) -> str:
    return f"{ctx.tenant}/{ctx.purpose}"
