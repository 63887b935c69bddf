"""The `verify_failed` event: one redacted, rate-limited log line per generic failure.

`DecryptionError` and `VerificationError` say nothing to their caller on purpose; their
cause is on `.reason`. This module is where that cause goes instead: an internal log
event that operators (and ``cryptorails triage logs``) read. It is never an HTTP
response, an error message or anything else a client can see: a reason code returned to
a client tells an attacker which check their forgery got past.

Each event carries the reason, tenant, key id, algorithm, the error's type, the
provider versions (pyca/cryptography and its OpenSSL), the host and the time. Every
value goes through a `cryptorails.redact.RedactionPolicy` first, so a token or key
passed by mistake in a field comes out masked. Events are rate-limited per (reason,
tenant, key id): a flood of forged requests cannot flood the logs, and the next event
that gets through says how many were held back.

For a stdlib logger the message is one line of JSON (``{"event": "verify_failed", ...}``)
and the same fields are set on the record (``extra``), so the line stays parseable
whatever formatter a handler uses. For a structlog-style logger the event is
``logger.warning("verify_failed", **fields)``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, Protocol

import cryptography

from cryptorails.clock import Clock, SystemClock
from cryptorails.errors import DecryptionError, VerificationError
from cryptorails.redact import RedactionPolicy

__all__ = ["EVENT", "LOGGER_NAME", "FailureLog", "log_verify_failed", "provider_versions"]

EVENT = "verify_failed"
LOGGER_NAME = "cryptorails.verify"

# Fields the helper sets itself; a caller's **fields may not override them.
_OWN_FIELDS = frozenset(
    {
        "event",
        "reason",
        "error",
        "tenant",
        "key_id",
        "algorithm",
        "cryptography",
        "openssl",
        "host",
        "time",
        "suppressed",
    }
)
# LogRecord attributes: `extra` may not set them (logging raises KeyError), so a caller
# field with one of these names stays in the JSON message only.
_RECORD_ATTRIBUTES = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime"}
)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# A key id can come from an unverified header: bound what reaches the log and the table.
_MAX_LABEL = 128
_OVERFLOW = ("*", "*", "*")
_STDLIB = (logging.Logger, logging.LoggerAdapter)


class _StructLogger(Protocol):
    def warning(self, event: str, **kw: Any) -> Any: ...


_Logger = logging.Logger | logging.LoggerAdapter[Any] | _StructLogger


@functools.cache
def provider_versions() -> dict[str, str]:
    """The crypto provider's versions: ``{"cryptography": ..., "openssl": ...}``."""
    from cryptography.hazmat.backends.openssl import backend

    return {"cryptography": cryptography.__version__, "openssl": backend.openssl_version_text()}


@dataclass
class _Window:
    start: float
    count: int = 0
    suppressed: int = 0


class FailureLog:
    """Emits redacted, rate-limited ``verify_failed`` events.

    Rate limit: at most `limit` events per `period` for each (reason, tenant, key id);
    further ones are counted, and the next event emitted for that key carries the count
    in ``suppressed``. At most `max_keys` keys are tracked: past that, new keys share one
    limit (the key id can be attacker-chosen, and memory must stay bounded).

    Args:
        logger: a `logging.Logger` or `LoggerAdapter` (default: ``cryptorails.verify``),
            or a structlog-style logger with ``.warning(event, **fields)``.
        limit: events per key per period (at least 1).
        period: the rate-limit period (positive).
        clock: its monotonic clock times the period, its wall clock stamps ``time``.
        host: the ``host`` field (default: this machine's host name).
        policy: the redaction policy (default: a default `RedactionPolicy`).
        level: the stdlib record level (default WARNING).
        max_keys: how many rate-limit keys are tracked.

    Raises:
        TypeError: a logger of neither kind, or arguments of the wrong type.
        ValueError: a non-positive limit, period or max_keys.
    """

    def __init__(
        self,
        logger: _Logger | None = None,
        *,
        limit: int = 10,
        period: timedelta = timedelta(minutes=1),
        clock: Clock | None = None,
        host: str | None = None,
        policy: RedactionPolicy | None = None,
        level: int = logging.WARNING,
        max_keys: int = 1024,
    ) -> None:
        if logger is None:
            logger = logging.getLogger(LOGGER_NAME)
        if not isinstance(logger, _STDLIB) and not callable(getattr(logger, "warning", None)):
            raise TypeError("logger is a logging.Logger or has a .warning(event, **fields) method")
        for name, value in (("limit", limit), ("max_keys", max_keys), ("level", level)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
        if limit < 1 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1")
        if not isinstance(period, timedelta):
            raise TypeError("period must be a timedelta")
        if period <= timedelta(0):
            raise ValueError("period must be positive")
        if policy is not None and not isinstance(policy, RedactionPolicy):
            raise TypeError("policy must be a RedactionPolicy")
        if host is not None and not isinstance(host, str):
            raise TypeError("host must be a str")
        self.logger = logger
        self._limit = limit
        self._period = period.total_seconds()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._host = host if host is not None else socket.gethostname()
        self._policy = policy if policy is not None else RedactionPolicy()
        self._level = level
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def log(
        self,
        error: DecryptionError | VerificationError,
        *,
        tenant: str | None = None,
        key_id: str | int | None = None,
        algorithm: str | None = None,
        **fields: object,
    ) -> bool:
        """Log `error` as a ``verify_failed`` event, unless rate-limited.

        Args:
            error: the failure; its ``.reason`` is logged (internal logs only).
            tenant: the tenant from server state (not from the request).
            key_id: the key involved, when known.
            algorithm: the algorithm involved, when known.
            fields: more context (route, scheme, ...); redacted like the rest.

        Returns:
            True if an event was emitted, False if it was rate-limited.

        Raises:
            TypeError: `error` is not a DecryptionError or VerificationError, or a field
                name is one the helper sets itself or not an identifier.
        """
        if not isinstance(error, DecryptionError | VerificationError):
            raise TypeError("error must be a DecryptionError or VerificationError")
        for name in fields:
            if name in _OWN_FIELDS or _FIELD_NAME.fullmatch(name) is None:
                raise TypeError(f"field {name!r} is set by log_verify_failed or is not a name")
        reason = error.reason.value
        tenant_text, kid_text = _label(tenant), _label(key_id)
        suppressed = self._admit((reason, tenant_text or "", kid_text or ""))
        if suppressed is None:
            return False
        now = self._clock.now().astimezone(UTC)
        event: dict[str, object] = {
            "event": EVENT,
            "reason": reason,
            "error": type(error).__name__,
            "tenant": tenant_text,
            "key_id": kid_text,
            "algorithm": _label(algorithm),
            **provider_versions(),
            "host": self._host,
            "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "suppressed": suppressed,
            **fields,
        }
        redacted = self._policy.redact(event)
        assert isinstance(redacted, dict)
        self._emit(redacted)
        return True

    def _emit(self, event: dict[str, object]) -> None:
        logger = self.logger
        if isinstance(logger, _STDLIB):
            # ensure_ascii: no raw U+2028 or control character can split the line.
            line = json.dumps(event, ensure_ascii=True, separators=(",", ":"), default=str)
            extra = {k: v for k, v in event.items() if k not in _RECORD_ATTRIBUTES}
            logger.log(self._level, line, extra=extra)
        else:
            body = {k: v for k, v in event.items() if k != "event"}
            logger.warning(EVENT, **body)

    def _admit(self, key: tuple[str, str, str]) -> int | None:
        """None when over the limit; else how many events of `key` were held back."""
        now = self._clock.monotonic()
        with self._lock:
            window = self._windows.get(key)
            if window is None and len(self._windows) >= self._max_keys:
                self._evict(now)
                if len(self._windows) >= self._max_keys:
                    key = _OVERFLOW
                    window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now)
            elif now - window.start >= self._period:
                window.start, window.count = now, 0
            if window.count >= self._limit:
                window.suppressed += 1
                return None
            window.count += 1
            suppressed, window.suppressed = window.suppressed, 0
            return suppressed

    def _evict(self, now: float) -> None:
        # Only windows that are over and hold no pending count: nothing is lost.
        for key in [
            k
            for k, w in self._windows.items()
            if now - w.start >= self._period and not w.suppressed
        ]:
            del self._windows[key]


def _label(value: object) -> str | None:
    if value is None:
        return None
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None:
        raise TypeError("tenant, key_id and algorithm are str (key_id may be an int) or None")
    return text if len(text) <= _MAX_LABEL else text[:_MAX_LABEL] + "..."


_DEFAULTS: dict[int, tuple[object, FailureLog]] = {}
_DEFAULTS_LOCK = threading.Lock()
_MAX_DEFAULTS = 64


def _failure_log_for(logger: _Logger | None) -> FailureLog:
    target: object = logger if logger is not None else logging.getLogger(LOGGER_NAME)
    with _DEFAULTS_LOCK:
        # Keyed by id() with the logger kept alive in the value, so an id is never reused
        # while its entry exists (structlog loggers need not be hashable or weak-referable).
        entry = _DEFAULTS.get(id(target))
        if entry is not None:
            return entry[1]
        failure_log = FailureLog(target)  # type: ignore[arg-type]
        if len(_DEFAULTS) >= _MAX_DEFAULTS:
            del _DEFAULTS[next(iter(_DEFAULTS))]
        _DEFAULTS[id(target)] = (target, failure_log)
        return failure_log


def log_verify_failed(
    error: DecryptionError | VerificationError,
    *,
    tenant: str | None = None,
    key_id: str | int | None = None,
    algorithm: str | None = None,
    logger: _Logger | None = None,
    **fields: object,
) -> bool:
    """Log a generic failure as a ``verify_failed`` event (redacted, rate-limited).

    For internal logs only: never put the reason into an HTTP response or an error
    message. Uses one `FailureLog` per logger with the default limits (10 events per
    minute per reason, tenant and key id); build a `FailureLog` for other limits.

    Example::

        try:
            claims = verifier.verify(token)
        except VerificationError as e:
            log_verify_failed(e, tenant=tenant, route="/api/orders")
            return UNAUTHORIZED  # the same reply whatever the reason

    Returns:
        True if an event was emitted, False if it was rate-limited.

    Raises:
        TypeError: see `FailureLog.log`.
    """
    return _failure_log_for(logger).log(
        error, tenant=tenant, key_id=key_id, algorithm=algorithm, **fields
    )
