"""Marked results: decrypted plaintext and verified claims that know they are sensitive.

`Sealer(..., mark_plaintext=True)` returns `Plaintext` and
`TokenVerifier(..., mark_claims=True)` returns `Claims`. Both behave like the plain value
(`bytes`, a read-only mapping) in code, but print as a placeholder, refuse to be pickled,
and are recognised by type by `cryptorails.redact`, which masks them wherever they reach a
log record, a structlog event or a span.

The mark is on the object only: anything derived from it (``p.decode()``, a slice,
``bytes(p)``, ``dict(claims)``, ``claims["sub"]``) is an ordinary value. That is on
purpose: the caller decides which parts are safe to pass on, and an explicit conversion is
the way to say so.

This module imports nothing from `cryptorails.redact`, so the AEAD and token code paths do
not load the redaction machinery.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

__all__ = ["Claims", "Plaintext"]


class Plaintext(bytes):
    """Decrypted bytes that print as ``Plaintext(<redacted N bytes>)``.

    A `bytes` subclass: comparisons, hashing, slicing and the buffer protocol work as for
    `bytes`. `repr()`, `str()` and formatting show only the length. Pickling is refused
    (plaintext written to a queue or cache is plaintext at rest); `copy` returns the same
    object, since bytes are immutable.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Plaintext(<redacted {len(self)} bytes>)"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Plaintext cannot be pickled; convert it with bytes() first")

    def __copy__(self) -> Plaintext:
        return self

    def __deepcopy__(self, memo: Any) -> Plaintext:
        return self


class Claims(Mapping[str, object]):
    """Verified token claims behind a read-only mapping that prints as a placeholder.

    Reading works as on a dict (``claims["sub"]``, ``.get``, ``in``, iteration,
    ``dict(claims)``); assignment raises `TypeError`. `repr()` and `str()` show only the
    number of claims. Nested values are the parsed objects themselves, as with the
    unmarked result.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"Claims(<redacted {len(self._data)} claims>)"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Claims cannot be pickled; convert them with dict() first")

    def __copy__(self) -> Claims:
        return self

    def __deepcopy__(self, memo: Any) -> Claims:
        # The wrapper is read-only, so sharing it is safe; the nested values are the
        # parser's own objects and no code path here mutates them.
        return self
