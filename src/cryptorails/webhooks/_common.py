"""Pieces every webhook scheme shares: header lookup, time window, limits.

Each check raises the one `VerificationError`; the cause goes on `.reason` only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptorails.clock import Clock, SystemClock, Window
from cryptorails.errors import Reason, VerificationError

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_SIGNATURES",
    "MESSAGE_ID",
    "TimeWindow",
    "b64_decode",
    "constant_time_match",
    "get_header",
    "parse_unix_seconds",
]

# Bounds on attacker-controlled input, checked before any parsing or MAC work.
MAX_HEADER_BYTES = 4096
MAX_SIGNATURES = 16
MAX_ID_CHARS = 256
# A Unix time in seconds: digits only (no sign, no fraction, no exponent), at most 12
# of them (year 33658), so float rounding or huge integers never enter the picture.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# A sender's message or delivery id (``webhook-id``, ``X-GitHub-Delivery``): visible
# ASCII only, bounded, so it is safe to log and to hash into a store key.
MESSAGE_ID = re.compile(rf"[!-~]{{1,{MAX_ID_CHARS}}}")


def get_header(headers: Mapping[str, str], name: str) -> str:
    """The value of header `name` (case-insensitive), bounded in size.

    Raises:
        TypeError: `headers` is not a mapping (a list, None): the integrator passed the
            wrong object, which is not an authentication failure.
        VerificationError: MISSING_HEADER, TOO_LARGE, or MALFORMED when the name occurs
            twice under different spellings (which value was signed would be ambiguous).
    """
    # Duck-typed on `items()` rather than `isinstance(headers, Mapping)`, so that header
    # objects that are mappings in all but registration (werkzeug's `Headers`) still work.
    items = getattr(headers, "items", None)
    if not callable(items):
        raise TypeError(
            f"headers is a mapping of header names to values, not {type(headers).__name__}"
        )
    wanted = name.lower()
    found: str | None = None
    for key, value in items():
        if not isinstance(key, str) or key.lower() != wanted:
            continue
        if found is not None:
            raise VerificationError(Reason.MALFORMED)
        if not isinstance(value, str):
            raise VerificationError(Reason.WRONG_TYPE)
        found = value
    if found is None:
        raise VerificationError(Reason.MISSING_HEADER)
    if len(found) > MAX_HEADER_BYTES:
        raise VerificationError(Reason.TOO_LARGE)
    if not found.isascii():
        raise VerificationError(Reason.MALFORMED)
    return found


def parse_unix_seconds(text: str) -> datetime:
    """A header timestamp in whole Unix seconds, strictly parsed.

    Raises:
        VerificationError: MALFORMED.
    """
    if _UNIX_SECONDS.fullmatch(text) is None:
        raise VerificationError(Reason.MALFORMED)
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        raise VerificationError(Reason.MALFORMED) from None


def b64_decode(text: str) -> bytes:
    """Standard base64 with optional padding, strictly (no whitespace, no other alphabet).

    Raises:
        VerificationError: MALFORMED.
    """
    if _B64.fullmatch(text) is None:
        raise VerificationError(Reason.MALFORMED)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(Reason.MALFORMED) from None


def constant_time_match(expected: list[bytes], presented: list[bytes]) -> bool:
    """Whether any presented value equals any expected one, comparing every pair in
    constant time (`hmac.compare_digest`) and without stopping early, so the time taken
    says nothing about which pair, if any, matched."""
    matched = False
    for want in expected:
        for got in presented:
            matched |= hmac.compare_digest(want, got)
    return matched


class TimeWindow:
    """A `Window` of `tolerance` either side of now, read from `clock`."""

    def __init__(self, tolerance: timedelta, clock: Clock | None) -> None:
        if not isinstance(tolerance, timedelta):
            raise TypeError("tolerance is a timedelta")
        if tolerance <= timedelta(0):
            raise ValueError("tolerance must be positive")
        self.window = Window(tolerance)
        self.clock: Clock = clock if clock is not None else SystemClock()

    def check(self, timestamp: datetime) -> None:
        """Raises VerificationError STALE (too old) or FUTURE (too far ahead)."""
        self.window.check(timestamp, self.clock.now())
