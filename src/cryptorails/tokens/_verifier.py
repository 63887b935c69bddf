"""`TokenVerifier`: JWTs (RFC 7519) from one trusted issuer, verified then used.

Order of work, and why:

1. bound the size, split, decode strictly and check the signature (`_jws`), using only
   keys of the one configured table, with the key's own algorithm;
2. parse the payload once, with the strict I-JSON parser, from the exact bytes whose
   signature was checked, and return that object (read-only): no second parse exists
   anywhere that could read a different value;
3. check the claims: `iss` exactly, required claims, `exp`/`nbf`/`iat` with an explicit
   leeway, `max_age` from `iat`, and `aud`.

Every failure is the same `VerificationError`; `.reason` is for internal logs only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from cryptorails import canonical
from cryptorails._sensitive import Claims
from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context
from cryptorails.errors import Reason, VerificationError
from cryptorails.keys import Keyring, Keyset
from cryptorails.tokens._jwk import Jwks
from cryptorails.tokens._jws import KeySource, StaticSource, verify_compact
from cryptorails.tokens._keytable import KeyringSource, table_for_keyset

__all__ = ["DEFAULT_LEEWAY", "DEFAULT_MAX_TOKEN_BYTES", "TokenVerifier"]

# Clock skew tolerated on exp, nbf and iat. 30 s covers NTP-synchronised hosts with room
# to spare, while keeping an expired token's extra life short.
DEFAULT_LEEWAY = timedelta(seconds=30)
# Real-world access tokens are well under 4 KiB; 8 KiB leaves room and bounds the work
# (and memory) an unauthenticated request can cause before the signature check.
DEFAULT_MAX_TOKEN_BYTES = 8192
_MAX_PAYLOAD_DEPTH = 32


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2): an int or a finite float; bools are not."""
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VerificationError(Reason.CLAIM_INVALID)
    if isinstance(value, float) and not math.isfinite(value):
        raise VerificationError(Reason.CLAIM_INVALID)
    return value


class TokenVerifier:
    """Verify tokens of one trusted issuer against one set of keys.

    Build it from trusted configuration (one per issuer; see `TrustedIssuers` for
    several tenants), never from anything in a request.

    Args:
        issuer: the exact `iss` every token must carry.
        keys: the issuer's keys: a keyring `Keyset` snapshot or a `Jwks`. Use
            `TokenVerifier.for_keyring` to follow a live keyring through rotations.
        audience: this service's name; tokens must then carry it in `aud`. When None,
            tokens that carry any `aud` are refused (RFC 7519 §4.1.3).
        leeway: clock skew tolerated on `exp`, `nbf`, `iat` (default 30 seconds).
        clock: the source of "now" (default: the system clock).
        max_age: if set, tokens whose `iat` is older than this are refused (and `iat`
            becomes required).
        required: claims that must be present (default ``("exp",)``); `iss` always is.
        max_token_bytes: longer tokens are refused before any parsing (default 8192).
        mark_claims: if True, `verify` returns `Claims`, a read-only mapping that prints
            as ``Claims(<redacted N claims>)`` and that `cryptorails.redact` masks
            wherever it is logged (default False: a `MappingProxyType`).
    """

    __slots__ = (
        "_audience",
        "_clock",
        "_issuer",
        "_leeway",
        "_mark",
        "_max_age",
        "_max_bytes",
        "_required",
        "_source",
    )

    def __init__(
        self,
        *,
        issuer: str,
        keys: Keyset | Jwks,
        audience: str | None = None,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Clock | None = None,
        max_age: timedelta | None = None,
        required: Sequence[str] = ("exp",),
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        mark_claims: bool = False,
    ) -> None:
        if isinstance(keys, Keyset):
            source: KeySource = StaticSource(table_for_keyset(keys))
        elif isinstance(keys, Jwks):
            source = StaticSource(keys.table)
        else:
            raise TypeError("keys must be a cryptorails Keyset or Jwks")
        self._configure(
            source, issuer, audience, leeway, clock, max_age, required, max_token_bytes, mark_claims
        )

    @classmethod
    def for_keyring(
        cls,
        keyring: Keyring,
        ctx: Context,
        *,
        issuer: str,
        audience: str | None = None,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Clock | None = None,
        max_age: timedelta | None = None,
        required: Sequence[str] = ("exp",),
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        mark_claims: bool = False,
    ) -> TokenVerifier:
        """A verifier over the live keyset of `ctx`: rotations are seen as they happen.

        Raises:
            ConfigurationError: the keyset of `ctx` exists and is not a token keyset.
        """
        verifier = cls.__new__(cls)
        verifier._configure(
            KeyringSource(keyring, ctx),
            issuer,
            audience,
            leeway,
            clock,
            max_age,
            required,
            max_token_bytes,
            mark_claims,
        )
        return verifier

    def _configure(
        self,
        source: KeySource,
        issuer: str,
        audience: str | None,
        leeway: timedelta,
        clock: Clock | None,
        max_age: timedelta | None,
        required: Sequence[str],
        max_token_bytes: int,
        mark_claims: bool = False,
    ) -> None:
        if not isinstance(issuer, str) or not issuer:
            raise TypeError("issuer must be a non-empty str")
        if audience is not None and (not isinstance(audience, str) or not audience):
            raise TypeError("audience must be a non-empty str or None")
        if not isinstance(leeway, timedelta) or leeway < timedelta(0):
            raise ValueError("leeway must be a timedelta of zero or more")
        if max_age is not None and (not isinstance(max_age, timedelta) or max_age <= timedelta(0)):
            raise ValueError("max_age must be a positive timedelta")
        if isinstance(required, str) or not all(isinstance(c, str) for c in required):
            raise TypeError('required must be a sequence of claim names, e.g. ("exp",)')
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int):
            raise TypeError("max_token_bytes must be an int")
        if max_token_bytes < 64:
            raise ValueError("max_token_bytes must be at least 64")
        if not isinstance(mark_claims, bool):
            raise TypeError("mark_claims must be a bool")
        self._source = source
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway.total_seconds()
        self._clock: Clock = clock or SystemClock()
        self._max_age = max_age.total_seconds() if max_age is not None else None
        names = set(required)
        if max_age is not None:
            names.add("iat")
        self._required = tuple(sorted(names))
        self._max_bytes = max_token_bytes
        self._mark = mark_claims

    def verify(self, token: str | bytes) -> Mapping[str, object]:
        """Verify `token` and return its claims.

        The result is the object the strict parser built from the verified payload
        bytes, behind a read-only `MappingProxyType` (nested lists and objects are the
        parsed values themselves), or behind `Claims` if the verifier marks claims.

        Raises:
            VerificationError: for every failure, with the same text; the cause is on
                `.reason` for internal logs.
        """
        jws = verify_compact(token, self._source, max_bytes=self._max_bytes)
        try:
            claims = canonical.loads(jws.payload, max_depth=_MAX_PAYLOAD_DEPTH)
        except canonical.CanonicalJSONError:
            raise VerificationError(Reason.PAYLOAD_INVALID) from None
        if not isinstance(claims, dict):
            raise VerificationError(Reason.PAYLOAD_INVALID)
        self._check(claims)
        if self._mark:
            return Claims(claims)
        return MappingProxyType(claims)

    def _check(self, claims: dict[str, Any]) -> None:
        iss = claims.get("iss")
        if iss is None:
            raise VerificationError(Reason.MISSING_CLAIM)
        if iss != self._issuer:
            raise VerificationError(Reason.WRONG_ISSUER)
        for name in self._required:
            if name not in claims:
                raise VerificationError(Reason.MISSING_CLAIM)
        now = self._clock.now().timestamp()
        leeway = self._leeway
        exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
        # RFC 7519 §4.1.4: the token must not be accepted on or after exp.
        if exp is not None and now >= exp + leeway:
            raise VerificationError(Reason.EXPIRED)
        if nbf is not None and now + leeway < nbf:
            raise VerificationError(Reason.NOT_YET_VALID)
        if iat is not None:
            if iat > now + leeway:
                raise VerificationError(Reason.ISSUED_IN_FUTURE)
            if self._max_age is not None and now - iat > self._max_age + leeway:
                raise VerificationError(Reason.TOO_OLD)
        self._check_audience(claims)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        # RFC 7519 §4.1.3: a token that names audiences is only for those audiences.
        if "aud" not in claims:
            if self._audience is not None:
                raise VerificationError(Reason.MISSING_CLAIM)
            return
        aud = claims["aud"]
        if isinstance(aud, str):
            audiences = [aud]
        elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
            audiences = aud
        else:
            raise VerificationError(Reason.CLAIM_INVALID)
        if self._audience is None or self._audience not in audiences:
            raise VerificationError(Reason.WRONG_AUDIENCE)

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self._issuer!r}, audience={self._audience!r})"
