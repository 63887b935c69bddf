"""`Keyring`: keysets addressed by trusted context, in one environment.

The keyring is the only way to reach a key, and it is addressed by a `Context` the
server built itself. A key id (`kid`) read from a blob is only ever looked up inside the
keyset of that context: there is no call that searches other keysets on the serving
path, so a blob can never select another tenant's key.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import time
import weakref
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptorails.algorithms import Algorithm, KeyKind, new_key_material
from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context, validate_label
from cryptorails.errors import ConfigurationError, PolicyError
from cryptorails.keys._jwks import public_jwk, publishable
from cryptorails.keys._ledger import Ledger, Tombstone
from cryptorails.keys._model import Key, Keyset, KeyState
from cryptorails.keys._stores import Change, FileKeystore, KeysetStore, MemoryKeystore
from cryptorails.keys.kek import Kek, TenantKeks
from cryptorails.secret import Secret

__all__ = ["DEFAULT_ALGORITHM", "GCM_USAGE_BUDGET", "Keyring", "ShredReport"]

T = TypeVar("T")

DEFAULT_ALGORITHM = Algorithm.XAES_256_GCM
# NIST SP 800-38D §8.3: with random 96-bit IVs, at most 2^32 invocations per key.
GCM_USAGE_BUDGET = 2**32
DEFAULT_LEASE = 2**16

_ALLOWED = {
    # target state: the states it may be reached from
    KeyState.PRIMARY: {KeyState.ACTIVE, KeyState.PRE_ACTIVATION},
    KeyState.ACTIVE: {KeyState.DISABLED},
    KeyState.DISABLED: {KeyState.ACTIVE, KeyState.PRE_ACTIVATION},
    # A compromised primary is replaced by a new primary in the same change.
    KeyState.COMPROMISED: {
        KeyState.PRE_ACTIVATION,
        KeyState.PRIMARY,
        KeyState.ACTIVE,
        KeyState.DISABLED,
    },
    KeyState.DESTROYED: {KeyState.DISABLED, KeyState.COMPROMISED, KeyState.PRE_ACTIVATION},
}


# Every keyring, so that a forked child drops the usage-budget leases it inherited: the
# parent reserved those slots in the keystore once, and two processes must never spend
# the same slots (the child leases its own).
_KEYRINGS: weakref.WeakSet[Keyring] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for keyring in list(_KEYRINGS):
        keyring._leases.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_algorithm(algorithm: object) -> Algorithm:
    """An algorithm a keyring can make keys for.

    Raises:
        TypeError: not an `Algorithm` (a name string, say).
        ConfigurationError: a verification-only algorithm (RS256, PS256).
    """
    if not isinstance(algorithm, Algorithm):
        raise TypeError("algorithm must be a cryptorails Algorithm, e.g. Algorithm.ED25519")
    if algorithm.verify_only:
        raise ConfigurationError(
            f"{algorithm.value} is verification-only: its keys come from a trusted JWKS, "
            "and a keyring never generates them"
        )
    return algorithm


@dataclass(frozen=True)
class ShredReport:
    """What `Keyring.shred` did."""

    tombstone: Tombstone
    keysets_deleted: int
    tenant_kek_destroyed: bool


class Keyring:
    """Keysets of one environment, addressed by `Context`.

    Build one with `Keyring.in_memory(...)` or `Keyring.open(path, kek=..., environment=...)`.

    Args (options of both constructors):
        algorithm: the AEAD of new keysets (default XAES-256-GCM).
        usage_budget: messages per key for AES-256-GCM keys (default 2^32).
        lease_size: budget slots a process reserves from the keystore at a time.
        auto_rotate: rotate when a primary's budget or lifetime is spent; when False,
            sealing raises `PolicyError` instead.
        key_lifetime: if set, new keys stop sealing this long after creation.
        clock: the wall clock for key creation and expiry.
        refresh_interval: seconds between checks for changes made by other processes.
        ledger: the key ledger outside the keystore. With it, every keyset of a shredded
            tenant is refused (its blobs fail with reason ``tenant_shredded``) even when
            an old keystore copy holding its keys is restored; `shred` needs it.
    """

    def __init__(
        self,
        store: KeysetStore,
        *,
        algorithm: Algorithm = DEFAULT_ALGORITHM,
        usage_budget: int = GCM_USAGE_BUDGET,
        lease_size: int = DEFAULT_LEASE,
        auto_rotate: bool = True,
        key_lifetime: timedelta | None = None,
        clock: Clock | None = None,
        refresh_interval: float = 1.0,
        ledger: Ledger | None = None,
    ) -> None:
        _check_algorithm(algorithm)
        if ledger is not None and not isinstance(ledger, Ledger):
            raise TypeError("ledger must be a cryptorails Ledger")
        if usage_budget < 1 or lease_size < 1:
            raise ValueError("usage_budget and lease_size must be positive")
        if key_lifetime is not None and key_lifetime <= timedelta(0):
            raise ValueError("key_lifetime must be positive")
        self._store = store
        self._algorithm = algorithm
        self._usage_budget = usage_budget
        self._lease_size = lease_size
        self._auto_rotate = auto_rotate
        self._key_lifetime = key_lifetime
        self._clock: Clock = clock or SystemClock()
        self._refresh_interval = refresh_interval
        # ctx -> (keyset, store signature, monotonic time of the next check)
        self._cache: dict[Context, tuple[Keyset, object, float]] = {}
        # Bumped whenever a cached keyset is replaced, so that caches built on top of
        # this one (the sealer's) can tell they are stale with one comparison.
        self._generation = 0
        # (ctx, kid) -> (slot counter, slots leased) for budgeted keys
        self._leases: dict[tuple[Context, int], tuple[itertools.count[int], int]] = {}
        self._ledger = ledger
        # tenant -> (tombstone or None, monotonic time of the next check); a tombstone,
        # once seen, is kept for good (they are never removed).
        self._tombstones: dict[str, tuple[Tombstone | None, float]] = {}
        _KEYRINGS.add(self)

    @classmethod
    def in_memory(cls, environment: str = "test", **options: Any) -> Keyring:
        """A keyring whose keys live only in this process."""
        return cls(MemoryKeystore(environment), **options)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        kek: Kek,
        environment: str,
        create: bool = False,
        tenant_keks: TenantKeks | bool | None = None,
        **options: Any,
    ) -> Keyring:
        """Open the file keystore at `path` (or create it, with `create=True`).

        Args:
            tenant_keks: per-tenant KEKs (see `FileKeystore`): a provider, or True on
                creation for tenant KEKs wrapped by `kek` inside the keystore.

        Raises:
            ConfigurationError: no keystore there, another environment's keystore, a
                different KEK, or other tenant KEKs than the keystore records.
        """
        store = FileKeystore(path, kek, environment, create=create, tenant_keks=tenant_keks)
        return cls(store, **options)

    @property
    def environment(self) -> str:
        """The environment bound into every seal (``prod``, ``staging``, ...)."""
        return self._store.environment

    # -- reading ---------------------------------------------------------------------

    def keyset(self, ctx: Context, *, algorithm: Algorithm | None = None) -> Keyset:
        """The keyset of `ctx`, created on first use.

        Args:
            algorithm: the algorithm a keyset created here gets (default: the keyring's).
                An existing keyset is returned as it is, whatever its algorithm.
        """
        keyset = self.find_keyset(ctx)
        if keyset is None:
            if algorithm is not None:
                _check_algorithm(algorithm)
            keyset, _ = self._update(ctx, self._create_change(ctx, algorithm, must_be_new=False))
        return keyset

    def find_keyset(self, ctx: Context) -> Keyset | None:
        """The keyset of `ctx` if it exists. Never creates one."""
        # Cache freshness uses the host's monotonic clock, not `clock`: a FixedClock in a
        # test must not stop the keyring from seeing other processes' changes.
        entry = self._cache.get(ctx)
        if entry is not None and time.monotonic() < entry[2]:
            return entry[0]
        return self.refresh(ctx)

    def refresh(self, ctx: Context) -> Keyset | None:
        """Re-read the keyset of `ctx` now if another process changed it."""
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a cryptorails Context")
        if self._ledger is not None and self.tombstone(ctx.tenant) is not None:
            if self._cache.pop(ctx, None) is not None:
                self._generation += 1
            return None
        entry = self._cache.get(ctx)
        signature = self._store.signature(ctx)
        if entry is not None and entry[1] == signature:
            keyset = entry[0]
        else:
            loaded = self._store.load(ctx)
            if loaded is None:
                if self._cache.pop(ctx, None) is not None:
                    self._generation += 1
                return None
            keyset = loaded
        self._cache[ctx] = (keyset, signature, time.monotonic() + self._refresh_interval)
        if entry is not None and entry[0] is not keyset:
            # After the cache is updated, so a reader that saw the old keyset also sees
            # the old generation and drops what it remembered.
            self._generation += 1
        return keyset

    def jwks(self, ctx: Context) -> dict[str, Any]:
        """The public JWK Set (RFC 7517 §5) of `ctx`'s signing keyset, for relying parties.

        Lists the keys that may verify (primary and active) of algorithm Ed25519 or ES256,
        public parts only; `kid` is the decimal string of the key id. HS256 keys are
        secrets and never appear.

        Raises:
            ConfigurationError: no keyset for `ctx`, or it has no public keys to publish
                (an AEAD or HS256 keyset).
        """
        keyset = self.find_keyset(ctx)
        if keyset is None:
            raise ConfigurationError(f"no keyset for {ctx}")
        keys = [public_jwk(k) for k in keyset.keys if publishable(k)]
        if not keys:
            raise ConfigurationError(
                f"the keyset of {ctx} ({keyset.algorithm.value}) has no public keys; "
                "a JWKS lists Ed25519 and ES256 keys only"
            )
        return {"keys": keys}

    def contexts(self) -> list[Context]:
        """Every context that has a keyset (operator tooling; not for the serving path)."""
        return self._store.contexts()

    @property
    def keystore_path(self) -> Path | None:
        """The file keystore's folder (None for an in-memory keyring)."""
        return self._store.path if isinstance(self._store, FileKeystore) else None

    @property
    def tenant_keks(self) -> TenantKeks | None:
        """Where the tenants' own KEKs live, if the keystore has per-tenant KEKs."""
        return self._store.tenant_keks if isinstance(self._store, FileKeystore) else None

    @property
    def ledger(self) -> Ledger | None:
        """The key ledger this keyring checks for shredded tenants, if any."""
        return self._ledger

    def tombstone(self, tenant: str) -> Tombstone | None:
        """The ledger's tombstone of `tenant` in this environment, or None (no ledger, or
        not shredded). Looked up at most once per refresh interval per tenant."""
        if self._ledger is None:
            return None
        entry = self._tombstones.get(tenant)
        if entry is not None and (entry[0] is not None or time.monotonic() < entry[1]):
            return entry[0]
        found = self._ledger.tombstone(self.environment, tenant)
        self._tombstones[tenant] = (found, time.monotonic() + self._refresh_interval)
        return found

    # -- changing --------------------------------------------------------------------

    def create_keyset(self, ctx: Context, *, algorithm: Algorithm | None = None) -> Keyset:
        """Create the keyset of `ctx` with a chosen algorithm.

        Raises:
            ConfigurationError: the keyset exists already.
        """
        keyset, _ = self._update(ctx, self._create_change(ctx, algorithm, must_be_new=True))
        return keyset

    def rotate(self, ctx: Context, *, algorithm: Algorithm | None = None) -> int:
        """Make a new primary key (the old primary becomes decrypt-only); return its kid.

        `algorithm` switches the keyset to another algorithm from this key on.
        """

        def change(current: Keyset | None) -> tuple[Keyset, int]:
            if current is None:
                current, _ = self._create_change(ctx, algorithm, must_be_new=True)(None)
                return current, current.primary.kid
            rotated = self._rotated(current, algorithm)
            return rotated, rotated.primary.kid

        _, kid = self._update(ctx, change)
        return kid

    def add_key(self, ctx: Context, *, algorithm: Algorithm | None = None) -> int:
        """Add a key in state ``pre_activation`` (it neither seals nor opens yet); return
        its kid. Promote it with ``set_state(ctx, kid, KeyState.PRIMARY)`` once every host
        has loaded it, so no host meets blobs under a key it has not seen."""

        def change(current: Keyset | None) -> tuple[Keyset, int]:
            if current is None:
                current, _ = self._create_change(ctx, None, must_be_new=True)(None)
            alg = current.algorithm if algorithm is None else _check_algorithm(algorithm)
            new = replace(
                self._new_key(alg, {k.kid for k in current.keys}),
                state=KeyState.PRE_ACTIVATION,
            )
            self._check_kind(current, alg)
            return current.with_keys((*current.keys, new)), new.kid

        _, kid = self._update(ctx, change)
        return kid

    def set_state(self, ctx: Context, kid: int, state: KeyState) -> None:
        """Move key `kid` of `ctx`'s keyset to `state`.

        Allowed: active or pre_activation -> primary (the old primary becomes active),
        active -> disabled, disabled -> active, pre_activation -> disabled, any state but
        destroyed -> compromised (a compromised primary is replaced by a new primary at
        once), and disabled, compromised or pre_activation -> destroyed (erases the
        material). To retire the primary otherwise, rotate first.

        Raises:
            ConfigurationError: no such keyset or key.
            PolicyError: the transition is not allowed.
        """
        if not isinstance(state, KeyState):
            raise TypeError("state must be a KeyState")

        def change(current: Keyset | None) -> tuple[Keyset, None]:
            if current is None:
                raise ConfigurationError(f"no keyset for {ctx}")
            key = current.get(kid)
            if key is None:
                raise ConfigurationError(f"no key {kid} in the keyset of {ctx}")
            if key.state is state:
                return current, None
            if key.state not in _ALLOWED[state]:
                hint = "; rotate first" if key.state is KeyState.PRIMARY else ""
                raise PolicyError(
                    f"key {kid} cannot go from {key.state.value} to {state.value}{hint}"
                )
            if state is KeyState.COMPROMISED and key.state is KeyState.PRIMARY:
                current = self._rotated(current, None)
            now = self._clock.now()
            keys = []
            for k in current.keys:
                if k.kid == kid:
                    material = None if state is KeyState.DESTROYED else k.material
                    k = replace(k, state=state, material=material, changed_at=now)
                elif state is KeyState.PRIMARY and k.state is KeyState.PRIMARY:
                    k = replace(k, state=KeyState.ACTIVE, changed_at=now)
                keys.append(k)
            return current.with_keys(tuple(keys)), None

        self._update(ctx, change)

    def shred(self, tenant: str, *, note: str = "") -> ShredReport:
        """Crypto-shred `tenant`: make every key of every keyset of it unrecoverable.

        In this order, so that a crash at any point leaves the tenant refused and a rerun
        finishes the job: (1) a tombstone naming the tenant, its keysets and key ids goes
        to the ledger; (2) the tenant's keyset files are deleted; (3) the tenant's own KEK
        is destroyed, if the keystore has per-tenant KEKs. Data sealed under the tenant's
        keys, in databases and backups alike, can then never be opened again — and a
        keystore copy restored from before the shred is refused by the tombstone.

        Raises:
            ConfigurationError: the keyring has no ledger (a tombstone must outlive the
                keystore, so it cannot live inside it).
        """
        if self._ledger is None:
            raise ConfigurationError(
                "shredding needs a key ledger outside the keystore: open the keyring with "
                "ledger=Ledger.open(url)"
            )
        validate_label("tenant", tenant)
        contexts = [c for c in self._store.contexts() if c.tenant == tenant]
        kids: list[int] = []
        for ctx in contexts:
            # On a rerun after the tenant KEK is gone, the first tombstone lists them.
            with contextlib.suppress(ConfigurationError):
                kids.extend(k.kid for k in self._store.load(ctx) or ())
        tombstone = self._ledger.add_tombstone(self.environment, tenant, contexts, kids, note=note)
        self._tombstones[tenant] = (tombstone, 0.0)
        deleted = sum(self._store.delete(ctx) for ctx in contexts)
        kek_destroyed = self._store.destroy_tenant_kek(tenant)
        for ctx in contexts:
            self._cache.pop(ctx, None)
        self._generation += 1
        return ShredReport(tombstone, deleted, kek_destroyed)

    # -- the sealing path ------------------------------------------------------------

    def _for_primary_use(self, ctx: Context) -> Keyset:
        """The keyset whose primary seals or signs next, after spending the primary's
        lifetime and usage budget (rotating or raising `PolicyError` as configured)."""
        keyset = self.keyset(ctx)
        if not keyset._sealing_checks:
            return keyset
        primary = keyset.primary
        if primary.not_after is not None and self._clock.now() >= primary.not_after:
            keyset, _ = self._update(ctx, self._expire_change)
            primary = keyset.primary
        if primary.algorithm.budgeted:
            lease = self._leases.get((ctx, primary.kid))
            if lease is None or next(lease[0]) >= lease[1]:
                keyset = self._lease(ctx)
        return keyset

    def _lease(self, ctx: Context) -> Keyset:
        """Reserve budget slots for the primary in the store, rotating when it is spent."""

        def change(current: Keyset | None) -> tuple[Keyset, tuple[int, int] | None]:
            if current is None:
                raise ConfigurationError(f"the keyset of {ctx} disappeared")
            primary = current.primary
            if primary.uses >= current.usage_budget:
                if not current.auto_rotate:
                    raise PolicyError(
                        f"key {primary.kid} of {ctx} has spent its usage budget of "
                        f"{current.usage_budget} messages; rotate the keyset"
                    )
                current = self._rotated(current, None)
                primary = current.primary
            if not primary.algorithm.budgeted:
                return current, None
            n = min(self._lease_size, current.usage_budget - primary.uses)
            keys = tuple(
                replace(k, uses=k.uses + n) if k.kid == primary.kid else k for k in current.keys
            )
            return current.with_keys(keys), (primary.kid, n)

        keyset, granted = self._update(ctx, change)
        if granted is not None:
            kid, n = granted
            # This call takes slot 0 of the new lease.
            self._leases[(ctx, kid)] = (itertools.count(1), n)
        return keyset

    def _expire_change(self, current: Keyset | None) -> tuple[Keyset, None]:
        assert current is not None
        primary = current.primary
        if primary.not_after is None or self._clock.now() < primary.not_after:
            return current, None  # another process rotated already
        if not current.auto_rotate:
            raise PolicyError(
                f"primary key {primary.kid} of {current.context} expired at "
                f"{primary.not_after.isoformat()}; rotate the keyset"
            )
        return self._rotated(current, None), None

    # -- helpers ---------------------------------------------------------------------

    def _update(self, ctx: Context, change: Change[T]) -> tuple[Keyset, T]:
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a cryptorails Context")
        tombstone = self.tombstone(ctx.tenant)
        if tombstone is not None:
            raise PolicyError(
                f"tenant {ctx.tenant} was shredded at {tombstone.shredded_at.isoformat()} "
                "(tombstone in the key ledger): its keys cannot come back, and its id "
                "cannot get new keys"
            )
        keyset, signature, result = self._store.update(ctx, change)
        self._cache[ctx] = (keyset, signature, time.monotonic() + self._refresh_interval)
        self._generation += 1  # after the cache update (see `refresh`)
        return keyset, result

    def _new_key(self, algorithm: Algorithm, taken: set[int]) -> Key:
        now = self._clock.now()
        kid = secrets.randbits(32)
        while kid in taken:
            kid = secrets.randbits(32)
        return Key(
            kid=kid,
            algorithm=algorithm,
            state=KeyState.PRIMARY,
            created_at=now,
            not_after=now + self._key_lifetime if self._key_lifetime else None,
            material=Secret(new_key_material(algorithm)),
        )

    def _rotated(self, keyset: Keyset, algorithm: Algorithm | None) -> Keyset:
        algorithm = keyset.algorithm if algorithm is None else _check_algorithm(algorithm)
        self._check_kind(keyset, algorithm)
        new = self._new_key(algorithm, {k.kid for k in keyset.keys})
        now = self._clock.now()
        keys = tuple(
            replace(k, state=KeyState.ACTIVE, changed_at=now) if k.state is KeyState.PRIMARY else k
            for k in keyset.keys
        )
        return keyset.with_keys((*keys, new), algorithm=algorithm)

    @staticmethod
    def _check_kind(keyset: Keyset, algorithm: Algorithm) -> None:
        if (algorithm.kind is KeyKind.AEAD) is not (keyset.algorithm.kind is KeyKind.AEAD):
            # A keyset serves one purpose: a sealing keyset never grows a token key (or the
            # reverse), so no caller is handed a key of the wrong kind. Token keysets may
            # move between HS256 and the signature algorithms.
            raise ConfigurationError(
                f"the keyset of {keyset.context} holds {keyset.algorithm.value} keys; "
                f"it cannot rotate to {algorithm.value}"
            )

    def _create_change(
        self, ctx: Context, algorithm: Algorithm | None, *, must_be_new: bool
    ) -> Change[None]:
        def change(current: Keyset | None) -> tuple[Keyset, None]:
            if current is not None:
                if must_be_new:
                    raise ConfigurationError("the keyset exists already")
                return current, None
            alg = self._algorithm if algorithm is None else _check_algorithm(algorithm)
            return (
                Keyset(
                    context=ctx,
                    environment=self.environment,
                    algorithm=alg,
                    keys=(self._new_key(alg, set()),),
                    usage_budget=self._usage_budget,
                    auto_rotate=self._auto_rotate,
                    revision=1,
                ),
                None,
            )

        return change
