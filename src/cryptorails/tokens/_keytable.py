"""The keys one verifier trusts, looked up by `kid` inside that one set only.

A `KeyTable` is built from trusted configuration (a keyring keyset or a JWKS). A token's
`kid` is a hint that selects a key *inside* the table; it is never a path, a URL, a
database key or a reason to look anywhere else. No kid is accepted only when the table
has exactly one usable key, so a missing kid can never mean "try them all".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.keys import Keyring, Keyset
from cryptorails.tokens._signing import VerifyKey, key_for

__all__ = ["KeyTable", "KeyringSource", "TrustedKey", "table_for_keyset"]


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One key of a table. `verify_key` is None for a key that may no longer verify."""

    kid: str | None
    algorithm: Algorithm
    verify_key: VerifyKey | None
    refusal: Reason | None = None  # why a non-verifying key is refused


class KeyTable:
    """An immutable kid -> key mapping for one trusted issuer."""

    __slots__ = ("_by_kid", "_only")

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        keys = tuple(keys)
        by_kid: dict[str, TrustedKey] = {}
        for key in keys:
            if key.kid is None:
                if len(keys) != 1:
                    raise ConfigurationError("a key without kid is allowed only alone")
                continue
            if key.kid in by_kid:
                raise ConfigurationError(f"duplicate kid {key.kid!r}")
            by_kid[key.kid] = key
        usable = [k for k in keys if k.verify_key is not None]
        self._by_kid = by_kid
        self._only = usable[0] if len(usable) == 1 else None

    def select(self, unverified_kid: object) -> TrustedKey:
        """The key named by a token's (unverified) kid, or the only usable key.

        Raises:
            VerificationError: malformed, unknown, retired or missing kid.
        """
        if unverified_kid is None:
            if self._only is None:
                raise VerificationError(Reason.KID_REQUIRED)
            return self._only
        if not isinstance(unverified_kid, str):
            raise VerificationError(Reason.MALFORMED)
        key = self._by_kid.get(unverified_kid)
        if key is None:
            raise VerificationError(Reason.UNKNOWN_KEY)
        if key.verify_key is None:
            raise VerificationError(key.refusal or Reason.KEY_DISABLED)
        return key


SIGNING_KEYSET_HINT = "tokens need an Ed25519, ES256 or HS256 keyset"


def table_for_keyset(keyset: Keyset) -> KeyTable:
    """The table of a keyring keyset (cached on the immutable snapshot).

    Primary and active keys verify; disabled and destroyed keys are known but refused.

    Raises:
        ConfigurationError: an AEAD keyset.
    """
    cached = keyset._cache.get("tokens/table")
    if isinstance(cached, KeyTable):
        return cached
    keyset.require(KeyKind.SIGNATURE, SIGNING_KEYSET_HINT)
    entries = []
    for key in keyset.keys:
        kid = str(key.kid)
        refusal = key.refusal
        if refusal is not None:
            entries.append(TrustedKey(kid, key.algorithm, None, refusal))
        else:
            entries.append(TrustedKey(kid, key.algorithm, key_for(key)))
    table = KeyTable(entries)
    keyset._cache["tokens/table"] = table
    return table


class KeyringSource:
    """The live keyset of one context: rotations (also by other processes) are seen."""

    __slots__ = ("_ctx", "_keyring")

    def __init__(self, keyring: Keyring, ctx: Context) -> None:
        if not isinstance(keyring, Keyring):
            raise TypeError("keyring must be a cryptorails Keyring")
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a cryptorails Context")
        self._keyring = keyring
        self._ctx = ctx
        keyset = keyring.find_keyset(ctx)
        if keyset is not None:
            table_for_keyset(keyset)  # an AEAD keyset is a configuration error, now

    def table(self, *, refresh: bool = False) -> KeyTable:
        """The table of the context's keyset; `refresh` re-reads the keystore first."""
        kr = self._keyring
        keyset = kr.refresh(self._ctx) if refresh else kr.find_keyset(self._ctx)
        if keyset is None:
            raise VerificationError(Reason.UNKNOWN_KEY)
        try:
            return table_for_keyset(keyset)
        except ConfigurationError:
            # Checked at construction; reached only if the keyset was replaced since.
            raise VerificationError(Reason.KEY_TYPE_MISMATCH) from None
