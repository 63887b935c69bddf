"""Replay protection and exactly-once execution on a shared store.

Both keep their state in a `Store` (SQLite, Redis, PostgreSQL) so that every process and
host behind a load balancer sees the same records: a per-process cache would let an
attacker replay a request once to each server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from cryptorails.clock import Clock, SystemClock, Window, require_aware
from cryptorails.errors import (
    ConfigurationError,
    IdempotencyError,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    Reason,
    StoreUnavailable,
    VerificationError,
)
from cryptorails.stores import Store
from cryptorails.stores._base import MAX_VALUE_SIZE

__all__ = [
    "MAX_RESULT_SIZE",
    "Idempotency",
    "IdempotencyError",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "ReplayCheck",
    "ReplayGuard",
]

_log = logging.getLogger(__name__)

# A replay record outlives the window by this much, so hosts whose clocks differ by less
# than this still cannot accept a message the record has forgotten.
_SKEW_MARGIN = timedelta(seconds=5)


def _digest(label: bytes, *parts: str) -> str:
    """SHA-256 over a label and length-prefixed UTF-8 parts, as hex (a bounded store key)."""
    h = hashlib.sha256(label)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


class ReplayCheck(Protocol):
    """What a verifier needs from a replay guard; `ReplayGuard` is the implementation.

    `check` accepts a message id once per namespace inside the guard's window and raises
    `VerificationError` (REPLAY, STALE or FUTURE) otherwise. The guard must live on a
    store shared by every process and host that receives the same messages.
    """

    def check(self, namespace: str, message_id: str, timestamp: datetime) -> None: ...


class ReplayGuard:
    """Accept each message once, inside a time window, across every process and host.

    Args:
        store: where the "seen" records live (shared by all instances of the service).
        window: how far a message's timestamp may lie from now.
        clock: the wall clock the window is checked against (default: system clock).
    """

    def __init__(self, store: Store, window: Window, *, clock: Clock | None = None) -> None:
        if not isinstance(store, Store):
            raise TypeError("store must implement cryptorails.stores.Store")
        if not isinstance(window, Window):
            raise TypeError("window must be a cryptorails.clock.Window")
        self._store = store
        self._window = window
        self._clock = clock or SystemClock()
        # The record must last as long as the timestamp can pass the window check: a
        # message stamped `future` ahead stays acceptable until `past` after its stamp.
        self._ttl = window.span + _SKEW_MARGIN

    @property
    def window(self) -> Window:
        """The accepted timestamp window; records are kept for all of it (and a margin)."""
        return self._window

    @staticmethod
    def store_key(namespace: str, message_id: str) -> str:
        """The store key `check` claims for a message (read-only tools look it up too)."""
        return "replay:" + _digest(b"cryptorails/v1/replay", namespace, message_id)

    def check(self, namespace: str, message_id: str, timestamp: datetime) -> None:
        """Accept the message or raise.

        Call it only after the message's signature has been verified, so that unsigned
        junk cannot fill the store or burn legitimate ids.

        Args:
            namespace: what the ids belong to (e.g. the webhook sender); ids of different
                namespaces never collide.
            message_id: the sender's unique id (hashed before it reaches the store).
            timestamp: the message's signed, timezone-aware timestamp.

        Raises:
            VerificationError: reason STALE or FUTURE (outside the window), REPLAY (seen
                before by any process using the same store), MALFORMED (empty id).
            TypeError: wrong argument types, or a naive timestamp.
            StoreUnavailable: the store could not be reached; the message is not accepted.
        """
        if not isinstance(namespace, str) or not isinstance(message_id, str):
            raise TypeError("namespace and message_id must be str")
        if not namespace:
            raise ValueError("namespace must not be empty")
        require_aware("timestamp", timestamp)
        if not message_id:
            raise VerificationError(Reason.MALFORMED)
        self._window.check(timestamp, self._clock.now())
        if not self._store.claim(self.store_key(namespace, message_id), b"1", self._ttl):
            raise VerificationError(Reason.REPLAY)


# Record layout: version byte, kind, SHA-256 of the fingerprint, then the lease token
# (in flight) or the result (done).
_VERSION = b"\x01"
_IN_FLIGHT = b"L"
_DONE = b"D"
_HEADER = 2 + 32
_ATTEMPTS = 16
# The largest result whose record fits in a store value (the same limit on every backend).
MAX_RESULT_SIZE = MAX_VALUE_SIZE - _HEADER


class Idempotency:
    """Run a function exactly once per key, across processes and hosts; replay its result.

    The first call for a key takes a lease (a record with a random token that expires
    after `lease`) and runs `fn`; its result replaces the lease, for `ttl`. Later calls
    with the same key and fingerprint get that stored result without running `fn`.

    - While the first call runs, others raise `IdempotencyInFlight`.
    - The same key with a different fingerprint raises `IdempotencyKeyReused`.
    - If `fn` raises, the lease is released and the exception propagates, so a retry
      runs `fn` again. Make `fn` safe to retry after a failure (or make it not fail
      half-way). If the release itself fails (store unreachable), that is logged and
      `fn`'s exception still propagates; the lease then expires after `lease`.
    - A result larger than `MAX_RESULT_SIZE` bytes cannot be stored: it is treated like
      a failure of `fn` (ValueError, the key is released). Store a reference instead.
    - If a worker dies while running `fn`, its lease expires after `lease` and another
      call may take over and run `fn`. So `lease` must exceed the longest run of `fn`: a
      call that outlives its lease may run concurrently with the one that took over
      (it is logged). Its result is then not stored — compare-and-set on the lease
      token keeps a late worker from overwriting the taker's record.

    Args:
        store: the shared store. It holds key hashes, fingerprint hashes and results.
        ttl: how long a result is kept and replayed.
        lease: how long a running call holds its key before another may take over.
        clock: measures how long `fn` ran (monotonic), to report overrun leases.
    """

    def __init__(
        self,
        store: Store,
        ttl: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(seconds=30),
        *,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError("store must implement cryptorails.stores.Store")
        for name, value in (("ttl", ttl), ("lease", lease)):
            if not isinstance(value, timedelta):
                raise TypeError(f"{name} must be a timedelta")
            if value <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        self._store = store
        self._ttl = ttl
        self._lease = lease
        self._clock = clock or SystemClock()

    def run(self, key: str, fingerprint: bytes, fn: Callable[[], bytes]) -> bytes:
        """`fn()`'s result for `key`: computed now if new, else the stored one.

        Args:
            key: the client's idempotency key (hashed before it reaches the store).
            fingerprint: what the request is (e.g. a hash of method, path and body); the
                same key with another fingerprint is refused.
            fn: the work; it must return bytes (serialize the result yourself).

        Raises:
            IdempotencyInFlight: another call for `key` holds the lease.
            IdempotencyKeyReused: `key` was used with another fingerprint.
            StoreUnavailable: the store could not be reached.
            TypeError: wrong argument types, or `fn` returned something other than bytes
                (the key is released).
            ValueError: `fn`'s result is larger than `MAX_RESULT_SIZE` bytes (result too
                large; the key is released, so a retry runs `fn` again).
        """
        if not isinstance(key, str) or not key:
            raise TypeError("key must be a non-empty str")
        if not isinstance(fingerprint, bytes):
            raise TypeError("fingerprint must be bytes")
        if not callable(fn):
            raise TypeError("fn must be callable")
        store_key = "idem:" + _digest(b"cryptorails/v1/idempotency", key)
        fp = hashlib.sha256(fingerprint).digest()
        for _ in range(_ATTEMPTS):
            lease = _VERSION + _IN_FLIGHT + fp + secrets.token_bytes(16)
            if self._store.claim(store_key, lease, self._lease):
                return self._execute(store_key, fp, lease, fn)
            record = self._store.get(store_key)
            if record is None:
                continue  # released or expired between the claim and the read: try again
            kind, stored_fp, payload = _decode(record)
            if not hmac.compare_digest(stored_fp, fp):
                raise IdempotencyKeyReused("idempotency key reused with another request")
            if kind == _DONE:
                return payload
            raise IdempotencyInFlight("a request with this idempotency key is in progress")
        raise IdempotencyInFlight("a request with this idempotency key is in progress")

    def _execute(self, store_key: str, fp: bytes, lease: bytes, fn: Callable[[], bytes]) -> bytes:
        started = self._clock.monotonic()
        try:
            result = fn()
            if not isinstance(result, bytes):
                raise TypeError(f"fn must return bytes, not {type(result).__name__}")
            if len(result) > MAX_RESULT_SIZE:
                raise ValueError(
                    f"fn's result is larger than {MAX_RESULT_SIZE} bytes and cannot be"
                    " stored; the idempotency key was released"
                )
        except BaseException:
            # Release only our own lease: if it expired and another call took over, the
            # compare-and-set fails and the taker's record stays.
            try:
                self._store.compare_and_set(store_key, lease, None, None)
            except StoreUnavailable:
                # The caller needs fn's error, not the store's; the lease expires anyway.
                _log.warning(
                    "could not release an idempotency lease; it expires in %.1fs",
                    self._lease.total_seconds(),
                    exc_info=True,
                )
            raise
        done = _VERSION + _DONE + fp + result
        if not self._store.compare_and_set(store_key, lease, done, self._ttl):
            elapsed = self._clock.monotonic() - started
            # Our lease expired. If nobody took over, the result is still worth keeping.
            stored = self._store.claim(store_key, done, self._ttl)
            _log.warning(
                "idempotent call outlived its lease (%.1fs > %.1fs); result %s",
                elapsed,
                self._lease.total_seconds(),
                "stored" if stored else "not stored: another call took over",
            )
        return result


def _decode(record: bytes) -> tuple[bytes, bytes, bytes]:
    if len(record) < _HEADER or record[:1] != _VERSION or record[1:2] not in (_IN_FLIGHT, _DONE):
        raise ConfigurationError("the store holds a malformed idempotency record")
    return record[1:2], record[2:_HEADER], record[_HEADER:]
