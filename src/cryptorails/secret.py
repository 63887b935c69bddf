"""`Secret`: key material and other sensitive bytes that never print, pickle or leak timing."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

__all__ = ["Secret"]

# Fingerprints are keyed with a per-process random key: they let one process's logs
# correlate "the same secret again" without giving anyone a value they can confirm a
# guess against (a plain hash of a low-entropy secret can be reversed by guessing).
_FINGERPRINT_KEY = os.urandom(32)

# Test-only hook (the cryptorails pytest plugin): callbacks told the bytes of every new
# Secret, so that a test's output can be checked for the keys the test created. Empty in
# production, where the only cost is one truthiness check per Secret.
_observers: list[Callable[[bytes], None]] = []


@contextmanager
def _observe(callback: Callable[[bytes], None]) -> Iterator[None]:
    """Call `callback(material)` for every `Secret` constructed inside the block.

    For test tooling only: the callback receives raw key material. Blocks may nest;
    callbacks run in the order they were added, and an exception from one propagates
    to the code that constructed the Secret.
    """
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


class Secret:
    """Bytes that are not shown, pickled or compared in variable time.

    `repr()` and `str()` show only ``Secret(<redacted>, fp=...)`` where ``fp`` is a short
    keyed fingerprint, valid within this process only. `==` between two secrets runs in
    constant time. `.reveal()` is the only way to get the bytes back; call it at the
    primitive call site and nowhere else.
    """

    __slots__ = ("__value",)

    def __init__(self, value: bytes | bytearray | memoryview) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"Secret wraps bytes, not {type(value).__name__}")
        self.__value = bytes(value)
        if _observers:
            for observer in tuple(_observers):
                observer(self.__value)

    def reveal(self) -> bytes:
        """Return the secret bytes. Keep the result local to the primitive call."""
        return self.__value

    def fingerprint(self) -> str:
        """A short fingerprint keyed per process: stable within a process, not across."""
        return hmac.new(_FINGERPRINT_KEY, self.__value, hashlib.sha256).hexdigest()[:8]

    def __len__(self) -> int:
        return len(self.__value)

    def __repr__(self) -> str:
        return f"Secret(<redacted>, fp={self.fingerprint()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value, other.__value)

    # Unhashable: a hash of key material is a value that could be compared in variable
    # time or leak through a dict's behaviour.
    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret objects cannot be pickled or copied by value")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: Any) -> Secret:
        return self
