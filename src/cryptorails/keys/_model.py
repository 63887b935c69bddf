"""Keys and keysets: immutable snapshots, and their JSON form inside a keystore."""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError, Reason
from cryptorails.secret import Secret

__all__ = ["Key", "KeyState", "Keyset"]

KEYSET_FORMAT = "cryptorails/v1/keyset"


class KeyState(enum.Enum):
    """The life of a key: ``[pre_activation ->] primary -> active -> disabled -> destroyed``,
    with ``compromised`` reachable from every state but ``destroyed``.

    * ``pre_activation``: generated and distributed, not yet in use (neither seals nor
      opens). Adding a key this way first and promoting it once every host has seen it
      avoids "unknown key" failures on hosts that still hold the previous keystore.
    * ``primary``: seals new data and opens; exactly one per keyset.
    * ``active``: opens only (a former primary, kept for data sealed under it).
    * ``disabled``: neither seals nor opens, but the material is kept, so it can be
      enabled again (the safe first step of retiring a key).
    * ``compromised``: known or suspected to be exposed. Neither seals nor opens on the
      serving path; only `Sealer.rewrap` may still open under it, to move data to a new
      key (the plaintext never reaches the caller).
    * ``destroyed``: the material is erased; the id is kept so that blobs under it are
      recognised as unrecoverable rather than as unknown.

    `nist` names each state as NIST SP 800-57 Part 1 Rev. 5 §7 does.
    """

    PRE_ACTIVATION = "pre_activation"
    PRIMARY = "primary"
    ACTIVE = "active"
    DISABLED = "disabled"
    COMPROMISED = "compromised"
    DESTROYED = "destroyed"

    @property
    def nist(self) -> str:
        """The NIST SP 800-57 state: a primary key applies and processes protection
        (*active*); a decrypt-only key only processes it (*deactivated*); a disabled key
        is *suspended*."""
        return _NIST[self]


_NIST = {
    KeyState.PRE_ACTIVATION: "pre-activation",
    KeyState.PRIMARY: "active",
    KeyState.ACTIVE: "deactivated",
    KeyState.DISABLED: "suspended",
    KeyState.COMPROMISED: "compromised",
    KeyState.DESTROYED: "destroyed",
}


@dataclass(frozen=True)
class Key:
    """One key of a keyset. `material` is None once the key is destroyed."""

    kid: int
    algorithm: Algorithm
    state: KeyState
    created_at: datetime
    material: Secret | None = field(repr=False, compare=False)
    not_after: datetime | None = None
    uses: int = 0
    """Messages leased against the usage budget (budgeted algorithms only)."""
    changed_at: datetime | None = None
    """When the key last changed state (None: never since creation)."""

    # Per-snapshot cache for the sealer (the primitive built from `material`); a new
    # snapshot of the key starts with an empty cache.
    _cache: dict[str, Any] = field(
        default_factory=dict, repr=False, compare=False, hash=False, init=False
    )

    @property
    def can_open(self) -> bool:
        """Whether blobs under this key may be opened."""
        return self.state in (KeyState.PRIMARY, KeyState.ACTIVE)

    @property
    def refusal(self) -> Reason | None:
        """Why this key may not open or verify (for internal logs), or None if it may."""
        return _REFUSALS.get(self.state)

    def to_json(self) -> dict[str, Any]:
        """The keystore form, including the key material (sealed by the keystore)."""
        return {
            "kid": self.kid,
            "algorithm": self.algorithm.value,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "uses": self.uses,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "material": (
                base64.b64encode(self.material.reveal()).decode() if self.material else None
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Key:
        """Parse the keystore form (already authenticated by the keystore)."""
        material = data["material"]
        return cls(
            kid=int(data["kid"]),
            algorithm=Algorithm(data["algorithm"]),
            state=KeyState(data["state"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            not_after=datetime.fromisoformat(data["not_after"]) if data["not_after"] else None,
            uses=int(data["uses"]),
            changed_at=(
                datetime.fromisoformat(data["changed_at"]) if data.get("changed_at") else None
            ),
            material=Secret(base64.b64decode(material)) if material is not None else None,
        )


_REFUSALS = {
    KeyState.PRE_ACTIVATION: Reason.KEY_NOT_ACTIVE,
    KeyState.DISABLED: Reason.KEY_DISABLED,
    KeyState.COMPROMISED: Reason.KEY_COMPROMISED,
    KeyState.DESTROYED: Reason.KEY_DESTROYED,
}


@dataclass(frozen=True)
class Keyset:
    """All keys of one (environment, tenant, purpose), as one immutable snapshot.

    Attributes:
        context: the tenant and purpose this keyset serves.
        environment: the keyring's environment.
        algorithm: the algorithm new keys get on rotation.
        keys: every key, destroyed ones included.
        usage_budget: messages per key for budgeted algorithms (AES-256-GCM).
        auto_rotate: rotate when the primary's budget or lifetime is spent, instead of
            refusing to seal.
        revision: incremented by every stored change.
    """

    context: Context
    environment: str
    algorithm: Algorithm
    keys: tuple[Key, ...]
    usage_budget: int
    auto_rotate: bool
    revision: int = 0
    _by_kid: dict[int, Key] = field(init=False, repr=False, compare=False, hash=False)
    _primary: Key = field(init=False, repr=False, compare=False, hash=False)
    # True when sealing must look at the primary's lifetime or usage budget first.
    _sealing_checks: bool = field(init=False, repr=False, compare=False, hash=False)
    # Per-snapshot cache for the sealer; a snapshot never changes, so neither do entries.
    _cache: dict[Any, Any] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_kid = {k.kid: k for k in self.keys}
        if len(by_kid) != len(self.keys):
            raise ConfigurationError("keyset has duplicate key ids")
        aead = self.algorithm.kind is KeyKind.AEAD
        if any((k.algorithm.kind is KeyKind.AEAD) is not aead for k in self.keys):
            # One keyset, one kind: a sealing key never sits beside a signing key.
            raise ConfigurationError("keyset mixes AEAD and token keys")
        primaries = [k for k in self.keys if k.state is KeyState.PRIMARY]
        if len(primaries) != 1:
            raise ConfigurationError("keyset must have exactly one primary key")
        object.__setattr__(self, "_by_kid", by_kid)
        object.__setattr__(self, "_primary", primaries[0])
        object.__setattr__(
            self,
            "_sealing_checks",
            primaries[0].not_after is not None or primaries[0].algorithm.budgeted,
        )
        object.__setattr__(self, "_cache", {})

    @property
    def primary(self) -> Key:
        """The key that seals new data."""
        return self._primary

    def require(self, kind: KeyKind, needed: str) -> None:
        """Refuse a keyset of the wrong kind for its user (a keyset holds one kind only).

        Raises:
            ConfigurationError: e.g. a Sealer handed a token keyset; `needed` says what
                the user needs instead.
        """
        if (self.algorithm.kind is KeyKind.AEAD) is not (kind is KeyKind.AEAD):
            raise ConfigurationError(
                f"the keyset of {self.context} holds {self.algorithm.value} keys; {needed}"
            )

    def get(self, kid: int) -> Key | None:
        """The key with this id in *this* keyset, or None."""
        return self._by_kid.get(kid)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def with_keys(self, keys: tuple[Key, ...], **changes: Any) -> Keyset:
        """A new snapshot with other keys (and other settings), one revision later."""
        return replace(self, keys=keys, revision=self.revision + 1, **changes)

    def to_json(self) -> dict[str, Any]:
        """The keystore form."""
        return {
            "format": KEYSET_FORMAT,
            "tenant": self.context.tenant,
            "purpose": self.context.purpose,
            "environment": self.environment,
            "algorithm": self.algorithm.value,
            "usage_budget": self.usage_budget,
            "auto_rotate": self.auto_rotate,
            "revision": self.revision,
            "keys": [k.to_json() for k in self.keys],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Keyset:
        """Parse the keystore form (already authenticated by the keystore)."""
        if data.get("format") != KEYSET_FORMAT:
            raise ConfigurationError("not a cryptorails keyset")
        return cls(
            context=Context(data["tenant"], data["purpose"]),
            environment=data["environment"],
            algorithm=Algorithm(data["algorithm"]),
            keys=tuple(Key.from_json(k) for k in data["keys"]),
            usage_budget=int(data["usage_budget"]),
            auto_rotate=bool(data["auto_rotate"]),
            revision=int(data["revision"]),
        )
