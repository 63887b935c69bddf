"""The `verify_failed` log event: why a request was refused, for operators only.

The HTTP reply to a failed verification is the same whatever failed; the cause is kept
here instead, as structured fields on a stdlib `logging` record (logger
``cryptorails.verify``). The event never carries the token, a signature, a header value
or the body: only the tenant, the key id when it names a trusted key, the algorithm, the
scheme, the provider version and the reason code. Events are rate-limited per reason, so
a flood of forged requests cannot flood the logs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cryptography

from cryptorails.clock import Clock, SystemClock
from cryptorails.errors import Reason

__all__ = ["FailureDetails", "FailureLog"]

LOGGER_NAME = "cryptorails.verify"
EVENT = "verify_failed"


@dataclass(frozen=True)
class FailureDetails:
    """What may be said about a failed verification (nothing attacker-chosen).

    Args:
        scheme: ``standard-webhooks``, ``stripe``, ``slack``, ``github`` or ``rfc9421``.
        algorithm: the algorithm involved, when known (e.g. ``hmac-sha256``).
        key_id: the id of a trusted key the request named; None when the named key is
            not trusted (an attacker's free text never reaches the log).
    """

    scheme: str
    algorithm: str | None = None
    key_id: str | None = None


class _Bucket:
    __slots__ = ("suppressed", "tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated
        self.suppressed = 0


class FailureLog:
    """Emits rate-limited `verify_failed` records.

    A token bucket per reason: up to `burst` events at once, refilled at `per_second`.
    Events over the limit are counted, and the next emitted event for that reason
    carries the count in its ``suppressed`` field.

    Args:
        logger: where records go (default: the ``cryptorails.verify`` logger).
        per_second: sustained events per second, per reason.
        burst: events allowed at once, per reason.
        clock: its monotonic clock times the refill (tests pass a `FixedClock`).
        level: the records' level.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        per_second: float = 5.0,
        burst: int = 20,
        clock: Clock | None = None,
        level: int = logging.WARNING,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self._rate = float(per_second)
        self._burst = float(burst)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._level = level
        self._lock = threading.Lock()
        self._buckets: dict[Reason, _Bucket] = {}

    def _take(self, reason: Reason) -> int | None:
        """None when over the limit; else the number of events suppressed before."""
        now = self._clock.monotonic()
        with self._lock:
            bucket = self._buckets.get(reason)
            if bucket is None:
                bucket = self._buckets[reason] = _Bucket(self._burst, now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
            bucket.updated = now
            if bucket.tokens < 1.0:
                bucket.suppressed += 1
                return None
            bucket.tokens -= 1.0
            suppressed, bucket.suppressed = bucket.suppressed, 0
            return suppressed

    def failed(self, reason: Reason, details: FailureDetails, tenant: str | None) -> bool:
        """Log one failure (unless rate-limited). Returns whether a record was emitted."""
        suppressed = self._take(reason)
        if suppressed is None:
            return False
        self.logger.log(
            self._level,
            EVENT,
            extra={
                "event": EVENT,
                "tenant": tenant,
                "key_id": details.key_id,
                "algorithm": details.algorithm,
                "scheme": details.scheme,
                "provider": "cryptography",
                "provider_version": cryptography.__version__,
                "reason": reason.value,
                "suppressed": suppressed,
            },
        )
        return True
