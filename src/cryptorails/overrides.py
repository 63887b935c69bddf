"""Expiring, approved security overrides: "temporarily off" that is visible and ends.

Switching a check off (signature verification of one webhook provider, say) with a
boolean in a config file is how "temporary" becomes permanent: nobody approved it, nothing
says it is on, and nothing turns it off. Here an override is an *approval token*: a JWS
signed by an approver keyset (`TokenIssuer`), naming what it disables, why, for which
environment, who approved it, and when it ends. A service loads the token with
`Overrides.load` and asks `Overrides.active(name)` at the point where the check would run.

Safety properties:

* The approval is signed; the service only holds the approvers' verification keys.
* It ends: `exp` is required, at most `MAX_OVERRIDE_LIFETIME` (7 days) after `iat`, and a
  policy may lower that. After expiry it is refused on load and dropped when active.
* It is bound to one environment, and the service's environment comes from its keyring
  (`Keyring.environment`, recorded in the keystore), never from an env var or DEBUG flag.
* A policy says, per environment, which checks may be overridden at all (deny by default:
  an environment the policy does not name allows nothing).
* While active it is loud: a `security_override_active` warning on the
  ``cryptorails.overrides`` logger, at most once per `warn_interval` per override, with
  structured `extra` fields. The token itself is never logged.
* Token confusion: approval tokens carry ``aud="cryptorails-override"`` (so a verifier for
  any other audience, or for none, refuses them; RFC 7519 §4.1.3) and a
  ``typ="cryptorails/v1/override"`` claim (so a token of another kind that happens to
  carry the audience is refused too).
"""

from __future__ import annotations

import builtins
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context, validate_label
from cryptorails.errors import PolicyError, Reason, VerificationError
from cryptorails.keys import Keyring
from cryptorails.tokens import TokenIssuer, TokenVerifier

__all__ = [
    "DEFAULT_WARN_INTERVAL",
    "MAX_OVERRIDE_LIFETIME",
    "OVERRIDE_AUDIENCE",
    "OVERRIDE_TYPE",
    "Override",
    "OverridePolicy",
    "Overrides",
    "approve",
]

OVERRIDE_AUDIENCE = "cryptorails-override"
OVERRIDE_TYPE = "cryptorails/v1/override"
# A week covers a weekend incident plus the time to ship the real fix; anything longer
# is not an override but a decision, and belongs in code review.
MAX_OVERRIDE_LIFETIME = timedelta(days=7)
DEFAULT_WARN_INTERVAL = timedelta(minutes=1)

# Names of checks: short, lowercase, no spaces, so they are greppable in code and logs.
_WHAT = re.compile(r"[a-z0-9][a-z0-9._:-]{0,127}")
_CLAIMS = ("typ", "what", "reason", "env", "approver")

logger = logging.getLogger("cryptorails.overrides")


def _check_what(what: object) -> str:
    if not isinstance(what, str):
        raise TypeError(f"what must be a str, not {type(what).__name__}")
    if not _WHAT.fullmatch(what):
        raise ValueError(
            f"what must be 1-128 characters of a-z, 0-9, '.', '_', ':', '-' "
            f"(starting with a letter or digit), not {what!r}"
        )
    return what


def _check_lifetime(lifetime: object, maximum: timedelta) -> timedelta:
    if not isinstance(lifetime, timedelta):
        raise TypeError(f"lifetime must be a timedelta, not {type(lifetime).__name__}")
    if lifetime < timedelta(seconds=1):
        raise ValueError("lifetime must be at least one second")
    if lifetime > maximum:
        raise ValueError(f"lifetime {lifetime} is longer than the maximum of {maximum}")
    return lifetime


@dataclass(frozen=True, slots=True)
class Override:
    """One approved override, as read from a verified approval token.

    Attributes:
        id: the token's `jti` (random; safe to log, unlike the token).
        what: the name of the check that is switched off.
        reason: why (free text, shown in every warning).
        approver: who approved it, as stated by the approver keyset's signer.
        environment: the only environment it applies to.
        issued_at: when it was approved.
        expires_at: when it ends.
    """

    id: str
    what: str
    reason: str
    approver: str
    environment: str
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> Override:
        """Read an override from the claims of a *verified* token.

        Raises:
            VerificationError: the claims are not those of an approval token (another
                audience or type, a missing or malformed field); same text for every cause.
        """
        aud = claims.get("aud")
        if aud != OVERRIDE_AUDIENCE:
            raise VerificationError(Reason.WRONG_AUDIENCE)
        if claims.get("typ") != OVERRIDE_TYPE:
            raise VerificationError(Reason.CLAIM_INVALID)
        try:
            what = _check_what(claims.get("what"))
            reason = validate_label("reason", claims.get("reason"))
            env = validate_label("env", claims.get("env"))
            approver = validate_label("approver", claims.get("approver"))
            jti = validate_label("jti", claims.get("jti"))
            iat, exp = claims.get("iat"), claims.get("exp")
            if not (_is_int(iat) and _is_int(exp)):
                raise ValueError("iat and exp must be integers")
            issued_at = datetime.fromtimestamp(iat, UTC)  # type: ignore[arg-type]
            expires_at = datetime.fromtimestamp(exp, UTC)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError, OSError):
            raise VerificationError(Reason.CLAIM_INVALID) from None
        return cls(jti, what, reason, approver, env, issued_at, expires_at)

    @property
    def lifetime(self) -> timedelta:
        """`expires_at - issued_at`."""
        return self.expires_at - self.issued_at

    def as_dict(self) -> dict[str, str]:
        """The fields as strings (ISO 8601 times), for logs and JSON output."""
        return {
            "id": self.id,
            "what": self.what,
            "reason": self.reason,
            "approver": self.approver,
            "environment": self.environment,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class OverridePolicy:
    """Which checks may be overridden in which environment, and for how long.

    Args:
        allowed: environment -> the names of checks that may be overridden there. An
            environment that is not listed (or maps to an empty set) allows nothing, so
            ``{"staging": frozenset({"webhooks.signature"})}`` forbids every override in
            ``prod``.
        max_lifetime: the longest approval accepted (default and ceiling: 7 days).

    Raises:
        TypeError, ValueError: a malformed mapping, name or lifetime.
    """

    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_lifetime: timedelta = MAX_OVERRIDE_LIFETIME

    def __post_init__(self) -> None:
        if not isinstance(self.allowed, Mapping):
            raise TypeError("allowed must be a mapping of environment -> names")
        table: dict[str, frozenset[str]] = {}
        for env, names in self.allowed.items():
            validate_label("environment", env)
            if isinstance(names, str) or not isinstance(names, frozenset | set | tuple | list):
                raise TypeError(f"allowed[{env!r}] must be a set of names, not a str")
            table[env] = frozenset(_check_what(n) for n in names)
        # A private copy: a caller mutating its dict later cannot widen the policy.
        object.__setattr__(self, "allowed", MappingProxyType(table))
        _check_lifetime(self.max_lifetime, MAX_OVERRIDE_LIFETIME)

    def allows(self, environment: str, what: str) -> bool:
        """Whether `what` may be overridden in `environment`."""
        return what in self.allowed.get(environment, frozenset())


def approve(
    issuer: TokenIssuer,
    *,
    what: str,
    reason: str,
    environment: str,
    lifetime: timedelta,
    approver: str,
) -> str:
    """Sign an approval token for overriding `what` in `environment` for `lifetime`.

    The issuer's keyset is the approver keyset; its clock sets `iat` and `exp`.

    Returns:
        the approval token (JWS compact). Hand it to the service; do not log it.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a malformed name or label, or a lifetime under one second or over
            `MAX_OVERRIDE_LIFETIME`.
    """
    if not isinstance(issuer, TokenIssuer):
        raise TypeError("issuer must be a cryptorails TokenIssuer")
    claims = {
        "typ": OVERRIDE_TYPE,
        "what": _check_what(what),
        "reason": validate_label("reason", reason),
        "env": validate_label("environment", environment),
        "approver": validate_label("approver", approver),
    }
    ttl = _check_lifetime(lifetime, MAX_OVERRIDE_LIFETIME)
    return issuer.issue(claims, ttl, audience=OVERRIDE_AUDIENCE)


class Overrides:
    """The approved overrides of one service, in its own environment.

    Args:
        verifier: verifies approval tokens; it must be built with
            ``audience=OVERRIDE_AUDIENCE`` over the approvers' keys (a keyset or JWKS).
        environment: this service's environment; take it from the keyring
            (`keyring.environment`, or use `for_keyring`), never from a flag.
        policy: what may be overridden where, and for how long.
        clock: the source of "now" for expiry and of monotonic time for warnings.
        warn_interval: the minimum time between two `security_override_active` warnings
            of one override.

    Raises:
        TypeError, ValueError: a malformed argument, or a verifier for another audience.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        environment: str,
        policy: OverridePolicy,
        clock: Clock | None = None,
        warn_interval: timedelta = DEFAULT_WARN_INTERVAL,
    ) -> None:
        if not isinstance(verifier, TokenVerifier):
            raise TypeError("verifier must be a cryptorails TokenVerifier")
        if verifier._audience != OVERRIDE_AUDIENCE:
            raise ValueError(f"the verifier must be built with audience={OVERRIDE_AUDIENCE!r}")
        if not isinstance(policy, OverridePolicy):
            raise TypeError("policy must be an OverridePolicy")
        if not isinstance(warn_interval, timedelta) or warn_interval < timedelta(0):
            raise ValueError("warn_interval must be a timedelta of zero or more")
        self._verifier = verifier
        self._environment = validate_label("environment", environment)
        self._policy = policy
        self._clock: Clock = clock or SystemClock()
        self._interval = warn_interval.total_seconds()
        self._lock = threading.Lock()
        self._loaded: dict[str, Override] = {}
        self._warned: dict[str, float] = {}  # override id -> monotonic time of last warning

    @classmethod
    def for_keyring(
        cls,
        keyring: Keyring,
        approvers: Context,
        *,
        issuer: str,
        policy: OverridePolicy,
        clock: Clock | None = None,
        warn_interval: timedelta = DEFAULT_WARN_INTERVAL,
    ) -> Overrides:
        """Overrides approved by the `approvers` keyset of `keyring`, in its environment.

        The environment is the keyring's own (recorded in the keystore). Expiry is exact:
        the verifier gets no leeway on `exp`. This keyring then holds the approvers'
        signing keys too; where the service must not be able to approve its own
        overrides, verify against the approvers' public keys instead:
        ``Overrides(TokenVerifier(issuer=..., keys=approvers_jwks,
        audience=OVERRIDE_AUDIENCE), environment=keyring.environment, policy=...)``.
        """
        verifier = TokenVerifier.for_keyring(
            keyring,
            approvers,
            issuer=issuer,
            audience=OVERRIDE_AUDIENCE,
            leeway=timedelta(0),
            clock=clock,
            required=("exp", "iat", "jti"),
        )
        return cls(
            verifier,
            environment=keyring.environment,
            policy=policy,
            clock=clock,
            warn_interval=warn_interval,
        )

    @property
    def environment(self) -> str:
        """The environment overrides must have been approved for."""
        return self._environment

    def load(self, token: str | bytes) -> Override:
        """Verify an approval token and make its override active until it expires.

        Raises:
            VerificationError: a bad signature, an unknown signer, another token type or
                audience, a malformed token (same text for every cause).
            PolicyError: a valid approval this service refuses: for another environment,
                not allowed by the policy here, a lifetime over the policy's maximum, or
                expired (the message says which).
        """
        try:
            claims = self._verifier.verify(token)
        except VerificationError as e:
            # The signature was checked before the claims, so "expired" is about a
            # genuine approval; the operator loading it should be told plainly.
            if e.reason is Reason.EXPIRED:
                raise PolicyError("the override approval has expired") from None
            raise
        override = Override.from_claims(claims)
        what, env = override.what, override.environment
        if env != self._environment:
            raise PolicyError(
                f"the override of {what!r} was approved for environment {env!r}, "
                f"not {self._environment!r}"
            )
        if not self._policy.allows(env, what):
            raise PolicyError(f"the policy does not allow overriding {what!r} in {env!r}")
        if override.lifetime > self._policy.max_lifetime:
            raise PolicyError(
                f"the override of {what!r} lasts {override.lifetime}, longer than the "
                f"policy's maximum of {self._policy.max_lifetime}"
            )
        if self._clock.now() >= override.expires_at:
            raise PolicyError(
                f"the override of {what!r} expired at {override.expires_at.isoformat()}"
            )
        with self._lock:
            new = override.id not in self._loaded
            self._loaded[override.id] = override
        if new:
            _log(logging.WARNING, "security_override_loaded", override)
        return override

    def active(self, what: str) -> Override | None:
        """The approved, unexpired override of `what`, or None.

        Emits the `security_override_active` warning (at most once per `warn_interval`
        per override). Expired overrides are dropped here and logged once as
        `security_override_ended`.
        """
        _check_what(what)
        warn = False
        current: Override | None = None
        with self._lock:
            ended = self._drop_expired()
            candidates = [o for o in self._loaded.values() if o.what == what]
            if candidates:
                current = max(candidates, key=lambda o: o.expires_at)
                now = self._clock.monotonic()
                last = self._warned.get(current.id)
                if last is None or now - last >= self._interval:
                    self._warned[current.id] = now
                    warn = True
        # Logged outside the lock: a handler may be slow, or call back into this object.
        for override in ended:
            _log(logging.INFO, "security_override_ended", override)
        if current is not None and warn:
            _log(logging.WARNING, "security_override_active", current)
        return current

    def list(self) -> builtins.list[Override]:
        """The unexpired overrides, soonest to end first."""
        with self._lock:
            ended = self._drop_expired()
            current = sorted(self._loaded.values(), key=lambda o: (o.expires_at, o.id))
        for override in ended:
            _log(logging.INFO, "security_override_ended", override)
        return current

    def _drop_expired(self) -> builtins.list[Override]:
        """Remove expired overrides (call with the lock held) and return them."""
        now = self._clock.now()
        ended = [o for o in self._loaded.values() if now >= o.expires_at]
        for override in ended:
            del self._loaded[override.id]
            self._warned.pop(override.id, None)
        return ended

    def __repr__(self) -> str:
        return f"Overrides(environment={self._environment!r}, loaded={len(self._loaded)})"


def _log(level: int, event: str, override: Override) -> None:
    fields: dict[str, Any] = {f"override_{k}": v for k, v in override.as_dict().items()}
    logger.log(
        level,
        "%s: %r in %r until %s, approved by %r: %s",
        event,
        override.what,
        override.environment,
        override.expires_at.isoformat(),
        override.approver,
        override.reason,
        extra={"event": event, **fields},
    )
