"""The cryptorails error hierarchy.

Two kinds of error exist, and they are treated differently on purpose:

* Authentication failures (`DecryptionError`, `VerificationError`) say nothing. Their
  `str()` is one fixed text whatever went wrong, because an error that says *which* check
  failed (unknown key id vs. bad tag vs. wrong tenant) is an oracle for an attacker. The
  precise cause is kept on `.reason` for internal structured logging only; it is never
  placed in `str()`, `repr()` or `args`, so it cannot leak through a default error
  handler, a traceback or an HTTP response body.
* Misuse by the integrator (`ConfigurationError`, `PolicyError`) is specific: the person
  reading it is the operator, and a vague message there only costs time.
"""

from __future__ import annotations

import enum

__all__ = [
    "ConfigurationError",
    "CryptoRailsError",
    "DecryptionError",
    "IdempotencyError",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "PolicyError",
    "Reason",
    "StoreUnavailable",
    "VerificationError",
]


class Reason(enum.Enum):
    """Why an authentication failed. For internal logs only; never shown to a caller."""

    WRONG_TYPE = "wrong_type"
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_ALGORITHM = "unknown_algorithm"
    ALGORITHM_MISMATCH = "algorithm_mismatch"
    UNKNOWN_KEY = "unknown_key"
    KEY_DISABLED = "key_disabled"
    KEY_DESTROYED = "key_destroyed"
    KEY_NOT_ACTIVE = "key_not_active"
    KEY_COMPROMISED = "key_compromised"
    TENANT_SHREDDED = "tenant_shredded"
    KEK_UNAVAILABLE = "kek_unavailable"
    AUTHENTICATION_FAILED = "authentication_failed"
    # Tokens (JWS / JWT).
    TOO_LARGE = "too_large"
    ALG_NONE = "alg_none"
    FORBIDDEN_HEADER = "forbidden_header"
    CRIT_UNSUPPORTED = "crit_unsupported"
    KID_REQUIRED = "kid_required"
    KEY_TYPE_MISMATCH = "key_type_mismatch"
    SIGNATURE_INVALID = "signature_invalid"
    PAYLOAD_INVALID = "payload_invalid"
    CLAIM_INVALID = "claim_invalid"
    MISSING_CLAIM = "missing_claim"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ISSUED_IN_FUTURE = "issued_in_future"
    TOO_OLD = "too_old"
    UNKNOWN_TENANT = "unknown_tenant"
    # Time windows and replay (shared state).
    REPLAY = "replay"
    STALE = "stale"
    FUTURE = "future"
    # Signed HTTP messages (webhooks, RFC 9421).
    MISSING_HEADER = "missing_header"
    DIGEST_MISMATCH = "digest_mismatch"
    COMPONENT_NOT_COVERED = "component_not_covered"
    UNSUPPORTED_COMPONENT = "unsupported_component"
    MISSING_PARAMETER = "missing_parameter"


class CryptoRailsError(Exception):
    """Base class of every error raised by cryptorails."""


class _OpaqueError(CryptoRailsError):
    """An authentication failure whose text never depends on its cause."""

    _TEXT = "authentication failed"

    def __init__(self, reason: Reason) -> None:
        # Deliberately not passed to Exception.__init__: `args` stays empty, so nothing
        # that formats `args` (logging, tracebacks, pickling for a process pool) can show
        # the cause.
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return self._TEXT

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __reduce__(self) -> tuple[type[_OpaqueError], tuple[Reason]]:
        return (type(self), (self.reason,))


class DecryptionError(_OpaqueError):
    """A sealed blob could not be opened. The text is the same for every cause."""

    _TEXT = "decryption failed"


class VerificationError(_OpaqueError):
    """A token, signature or request could not be verified. Same text for every cause."""

    _TEXT = "verification failed"


class ConfigurationError(CryptoRailsError):
    """The integrator configured something wrongly (bad keystore, wrong KEK, ...)."""


class PolicyError(CryptoRailsError):
    """An operation was refused by a safety policy (usage budget spent, forbidden state)."""


class StoreUnavailable(CryptoRailsError):  # noqa: N818 -- the documented public name
    """A state store (Redis, PostgreSQL, a locked SQLite file) could not be reached in time.

    Raised instead of the driver's own exception, both when a store is opened and on any
    later operation. It is an operational condition, not a misconfiguration: retry later or
    answer 503. Features built on stores fail closed on it — a replay check that cannot
    reach its store never accepts the message. The text names the backend and the driver's
    error but never a password from the URL.
    """


class IdempotencyError(CryptoRailsError):
    """Base class of the two ways an idempotent call can be refused."""


class IdempotencyInFlight(IdempotencyError):  # noqa: N818 -- the documented public name
    """Another call with the same key is still running (HTTP: 409 Conflict)."""


class IdempotencyKeyReused(IdempotencyError):  # noqa: N818 -- the documented public name
    """The key was already used for a request with another fingerprint (HTTP: 422)."""
