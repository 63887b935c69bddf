"""`TokenIssuer`: JWS compact tokens over RFC 8785 canonical JSON, from a keyring."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta

from cryptorails import canonical
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context
from cryptorails.keys import Keyring, Keyset
from cryptorails.tokens._keytable import SIGNING_KEYSET_HINT
from cryptorails.tokens._signing import b64u_encode, sign

__all__ = ["DEFAULT_TOKEN_ALGORITHM", "TokenIssuer"]

DEFAULT_TOKEN_ALGORITHM = Algorithm.ED25519
# Claims the issuer sets itself; a caller setting them could forge lifetimes or replay ids.
_RESERVED = frozenset({"iss", "iat", "exp", "jti", "aud"})


def _check_token_keyset(keyset: Keyset) -> None:
    keyset.require(KeyKind.SIGNATURE, SIGNING_KEYSET_HINT)


class TokenIssuer:
    """Issue signed tokens (JWTs) with the primary key of one keyring keyset.

    The keyset of `ctx` is created as an Ed25519 keyset on first use (create it with
    `keyring.create_keyset(ctx, algorithm=Algorithm.ES256)` or `HS256` for another
    algorithm). Rotation is the keyring's: new tokens use the new primary, and verifiers
    keep accepting the previous keys while they are active.

    Args:
        keyring: the keyring holding the signing keys.
        ctx: the trusted context of the signing keyset (tenant, purpose).
        issuer: the `iss` claim of every token.
        clock: the source of `iat` and `exp` (default: the system clock).

    Raises:
        ConfigurationError: the keyset of `ctx` is an AEAD keyset.
    """

    __slots__ = ("_clock", "_ctx", "_issuer", "_keyring")

    def __init__(
        self, keyring: Keyring, ctx: Context, *, issuer: str, clock: Clock | None = None
    ) -> None:
        if not isinstance(keyring, Keyring):
            raise TypeError("keyring must be a cryptorails Keyring")
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a cryptorails Context")
        if not isinstance(issuer, str) or not issuer:
            raise TypeError("issuer must be a non-empty str")
        _check_token_keyset(keyring.keyset(ctx, algorithm=DEFAULT_TOKEN_ALGORITHM))
        self._keyring = keyring
        self._ctx = ctx
        self._issuer = issuer
        self._clock: Clock = clock or SystemClock()

    def issue(
        self,
        claims: Mapping[str, object],
        ttl: timedelta,
        audience: str | Sequence[str] | None = None,
    ) -> str:
        """A JWS compact token: header ``{"alg","kid","typ":"JWT"}``, canonical payload.

        The payload is `claims` plus `iss`, `iat`, `exp` (integer seconds), `jti` (128
        random bits, base64url) and, if given, `aud`.

        Raises:
            TypeError: claims is not a mapping with str keys; ttl is not a timedelta;
                audience is not a str or a sequence of str.
            ValueError: claims set a reserved claim (iss, iat, exp, jti, aud); ttl is
                shorter than one second; a claim value JSON cannot represent exactly.
            ConfigurationError: the keyset is not a token keyset.
            PolicyError: the key's lifetime is over and auto-rotation is off.
        """
        if not isinstance(claims, Mapping) or not all(isinstance(k, str) for k in claims):
            raise TypeError("claims must be a mapping with str keys")
        reserved = sorted(_RESERVED.intersection(claims))
        if reserved:
            raise ValueError(
                f"claims must not set {', '.join(reserved)}: the issuer sets them "
                "(pass audience= for aud)"
            )
        if not isinstance(ttl, timedelta):
            raise TypeError("ttl must be a timedelta")
        lifetime = math.floor(ttl.total_seconds())
        if lifetime < 1:
            raise ValueError("ttl must be at least one second")
        body = dict(claims)
        if audience is not None:
            body["aud"] = _audience(audience)
        iat = math.floor(self._clock.now().timestamp())
        body.update(iss=self._issuer, iat=iat, exp=iat + lifetime)
        body["jti"] = b64u_encode(secrets.token_bytes(16))
        payload = canonical.dumps(body)

        keyset = self._keyring._for_primary_use(self._ctx)  # spends lifetime, rotates if due
        _check_token_keyset(keyset)
        key = keyset.primary
        header = {"alg": key.algorithm.value, "kid": str(key.kid), "typ": "JWT"}
        signing_input = f"{b64u_encode(canonical.dumps(header))}.{b64u_encode(payload)}"
        signature = sign(key, signing_input.encode("ascii"))
        return f"{signing_input}.{b64u_encode(signature)}"

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self._issuer!r}, ctx={self._ctx!r})"


def _audience(audience: str | Sequence[str]) -> str | list[str]:
    if isinstance(audience, str):
        if not audience:
            raise ValueError("audience must not be empty")
        return audience
    values = list(audience)
    if not values or not all(isinstance(a, str) and a for a in values):
        raise TypeError("audience must be a str or a non-empty sequence of non-empty str")
    return values
