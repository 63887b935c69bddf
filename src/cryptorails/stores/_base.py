"""The store protocol, and the argument checks every backend shares.

A store keeps small byte values under string keys, optionally with a time to live. It is
the one place where state shared between processes and hosts lives: replay records,
idempotency records, counters. Callers put ids, hashes and fingerprints in it — never
raw secrets, plaintexts or keys — because a store is usually readable by operators,
backed up, and replicated.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar, runtime_checkable

from cryptorails.errors import StoreUnavailable

__all__ = ["MAX_KEY_LENGTH", "MAX_VALUE_SIZE", "Store", "StoreBase", "display_url"]

MAX_KEY_LENGTH = 512
MAX_VALUE_SIZE = 16 * 1024 * 1024
# The longest TTL a store accepts: far beyond any sensible use, well inside every
# backend's integer and timestamp ranges.
MAX_TTL = timedelta(days=36500)
_INT64 = (-(2**63), 2**63 - 1)
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The one form a counter has on every backend: what str(int) writes, and exactly what
# Redis's own integer parser (string2ll) accepts — no sign on zero, no "+", no leading
# zeros, no spaces. The range is checked separately.
_COUNTER = re.compile(rb"0|-?[1-9][0-9]{0,18}")


@runtime_checkable
class Store(Protocol):
    """Shared key-value state with expiry, the same on every backend.

    Expired entries behave exactly like absent ones in every method. Every method may
    raise `StoreUnavailable` when the backend cannot be reached; none raises a driver's
    own exception.
    """

    namespace: str

    def claim(self, key: str, value: bytes, ttl: timedelta) -> bool:
        """Store `value` under `key` for `ttl` if `key` is absent; True if this call did."""
        ...

    def get(self, key: str) -> bytes | None:
        """The value under `key`, or None if absent or expired."""
        ...

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: timedelta | None
    ) -> bool:
        """Replace the value under `key` by `new` if it currently equals `expected`.

        `expected=None` means "absent"; `new=None` deletes. The new entry lives for `ttl`
        (None: it never expires). Returns whether the swap happened.
        """
        ...

    def add(self, key: str, amount: int, ttl: timedelta | None) -> int:
        """Add `amount` to the integer counter at `key` (absent: 0) and return the sum.

        `ttl` applies when this call creates the counter; later additions keep the
        existing expiry, so a counter with a TTL counts over a fixed period. The value is
        stored as ASCII decimal bytes (what `get` returns) in canonical form: `0`, or an
        optional `-` and digits without leading zeros, within the signed 64-bit range.
        Raises ValueError ("not a counter") if the stored value is anything else, and
        ValueError ("64-bit range") if the sum would leave that range; either way the
        stored value is unchanged.
        """
        ...

    def delete(self, key: str) -> bool:
        """Remove `key`; True if a live entry was removed."""
        ...

    def close(self) -> None:
        """Release connections. Every later call raises `StoreUnavailable`."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str):
        raise TypeError(f"namespace must be a str, not {type(namespace).__name__}")
    if not _NAMESPACE.match(namespace):
        raise ValueError("namespace must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return namespace


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"store key must be a str, not {type(key).__name__}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"store key must have 1 to {MAX_KEY_LENGTH} characters")
    if _CONTROL.search(key):
        raise ValueError("store key must not contain control characters")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("store key must be valid Unicode (no lone surrogates)") from None
    return key


def optional_value(name: str, value: object) -> bytes | None:
    return None if value is None else check_value(name, value)


def check_value(name: str, value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE_SIZE:
        raise ValueError(f"{name} is larger than {MAX_VALUE_SIZE} bytes")
    return value


def optional_ttl_ms(ttl: object) -> int | None:
    return None if ttl is None else ttl_ms(ttl)


def ttl_ms(ttl: object) -> int:
    """A TTL in whole milliseconds, rounded up so that a TTL never shortens."""
    if not isinstance(ttl, timedelta):
        raise TypeError(f"ttl must be a timedelta, not {type(ttl).__name__}")
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError("ttl must be positive and at most 100 years")
    return -(-ttl // timedelta(milliseconds=1))


def check_amount(amount: object) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"amount must be an int, not {type(amount).__name__}")
    if not _INT64[0] <= amount <= _INT64[1]:
        raise ValueError("amount must fit in a signed 64-bit integer")
    return amount


def add_counter(current: bytes | None, amount: int) -> int:
    """`current` parsed as a counter, plus `amount`; ValueError if that is not possible."""
    base = 0 if current is None else parse_counter(current)
    total = base + amount
    if not _INT64[0] <= total <= _INT64[1]:
        raise ValueError(OVERFLOW)
    return total


def parse_counter(value: bytes) -> int:
    """A stored counter's value; ValueError unless it is canonical and within int64."""
    if not _COUNTER.fullmatch(value) or not _INT64[0] <= int(value) <= _INT64[1]:
        raise ValueError(NOT_A_COUNTER)
    return int(value)


NOT_A_COUNTER = "the value at this key is not a counter"
OVERFLOW = "counter would leave the signed 64-bit range"


def display_url(url: str) -> str:
    """`url` reduced to scheme, user, host and path, for messages: never a password.

    Drivers split URLs differently (libpq lets a password contain `#` and `?`, urllib
    does not), so this follows the most permissive reading: the user information runs to
    the first `@` unless a `/` comes first, and only the user name before its first `:`
    is kept. The query (it may hold `password=`) and fragment are dropped. If an `@` is
    left after that, the URL is ambiguous and nothing of it is shown.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return _UNPARSEABLE
    user = ""
    end = re.search(r"[@/]", rest)
    if end is not None and end[0] == "@":
        user = rest[: end.start()].split(":", 1)[0]
        rest = rest[end.end() :]
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    if "@" in rest:
        return _UNPARSEABLE
    return _CONTROL.sub("?", f"{scheme}://{user}{'@' if user else ''}{rest}")


_UNPARSEABLE = "<unparseable URL>"


C = TypeVar("C")


class Pool(Generic[C]):
    """Idle connections for a store used from several threads (one connection per user)."""

    def __init__(self, connect: Callable[[], C], close: Callable[[C], None], name: str) -> None:
        self._name = name
        self._connect = connect
        self._close = close
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self, healthy: Callable[[C], bool]) -> Iterator[C]:
        """A connection for the duration of the block.

        Raises:
            StoreUnavailable: the store was closed. Not ConfigurationError: a closed store
                is typically met by a request still running while the service shuts
                down, and every caller already answers StoreUnavailable safely (fail
                closed, HTTP 503, retry elsewhere).
        """
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"{self._name} is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._lock:
                keep = not self._closed and healthy(conn)
                if keep:
                    self._idle.append(conn)
            if not keep:
                self._close(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            self._close(conn)


class StoreBase:
    """Argument checking, closing and context-manager support.

    Backends implement the `_` methods; after `close()` every public method raises
    `StoreUnavailable` on every backend (some drivers would silently reconnect).
    """

    namespace: str
    _closed = False

    def __init__(self, namespace: str) -> None:
        self.namespace = check_namespace(namespace)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed")

    def claim(self, key: str, value: bytes, ttl: timedelta) -> bool:
        args = check_key(key), check_value("value", value), ttl_ms(ttl)
        self._check_open()
        return self._claim(*args)

    def get(self, key: str) -> bytes | None:
        k = check_key(key)
        self._check_open()
        return self._get(k)

    def compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl: timedelta | None
    ) -> bool:
        k = check_key(key)
        exp = optional_value("expected", expected)
        val = optional_value("new", new)
        t = optional_ttl_ms(ttl)
        self._check_open()
        return self._compare_and_set(k, exp, val, t if val is not None else None)

    def add(self, key: str, amount: int, ttl: timedelta | None) -> int:
        args = check_key(key), check_amount(amount), optional_ttl_ms(ttl)
        self._check_open()
        return self._add(*args)

    def delete(self, key: str) -> bool:
        k = check_key(key)
        self._check_open()
        return self._delete(k)

    def close(self) -> None:
        """Release connections; later calls raise `StoreUnavailable`. Idempotent."""
        self._closed = True
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"

    # Backend operations, called with checked arguments; TTLs in milliseconds.
    def _claim(self, key: str, value: bytes, ttl_ms: int) -> bool:
        raise NotImplementedError

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        raise NotImplementedError

    def _add(self, key: str, amount: int, ttl_ms: int | None) -> int:
        raise NotImplementedError

    def _delete(self, key: str) -> bool:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError
