"""The canonical-JSON error tree.

Every problem `loads` finds in its input, and every value `dumps` refuses, raises a
subclass of `CanonicalJSONError`, which is both a `CryptoRailsError` and a `ValueError`.
Messages never quote the input: a canonical-JSON error may end up in a log, and the input
may be an attacker's payload or a secret-bearing document.
"""

from __future__ import annotations

from ..errors import CryptoRailsError

__all__ = [
    "CanonicalJSONError",
    "DepthLimitError",
    "DuplicateNameError",
    "EncodingError",
    "ForbiddenCodePointError",
    "JSONSyntaxError",
    "NumberRangeError",
    "SizeLimitError",
    "UnsupportedValueError",
]


class CanonicalJSONError(CryptoRailsError, ValueError):
    """Input is not strict I-JSON, or a value cannot be serialized canonically.

    Attributes:
        msg: the message without the position.
        pos: offset of the problem in the input as given (bytes offset for bytes input,
            character offset for str input), or None when there is no input text.
    """

    def __init__(self, msg: str, pos: int | None = None) -> None:
        super().__init__(msg if pos is None else f"{msg} (at offset {pos})")
        self.msg = msg
        self.pos = pos

    def __reduce__(self) -> tuple[type[CanonicalJSONError], tuple[str, int | None]]:
        return (type(self), (self.msg, self.pos))


class JSONSyntaxError(CanonicalJSONError):
    """The text does not follow the RFC 8259 grammar."""


class EncodingError(CanonicalJSONError):
    """The bytes are not UTF-8 without a byte order mark (RFC 8259 §8.1, RFC 7493 §2.1)."""


class DuplicateNameError(CanonicalJSONError):
    """An object has two members with the same name after unescaping (RFC 7493 §2.3)."""


class ForbiddenCodePointError(CanonicalJSONError):
    """A surrogate or noncharacter code point, raw or escaped (RFC 7493 §2.1)."""


class NumberRangeError(CanonicalJSONError):
    """A number overflows a double, or an integer is outside ±(2**53 - 1) (RFC 7493 §2.2)."""


class DepthLimitError(CanonicalJSONError):
    """Arrays and objects are nested deeper than allowed."""


class SizeLimitError(CanonicalJSONError):
    """The input is larger than allowed."""


class UnsupportedValueError(CanonicalJSONError):
    """`dumps` was given a value that has no canonical I-JSON form.

    Attributes:
        path: keys and indexes from the top-level value to the offending one.
    """

    def __init__(self, msg: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(msg if not path else f"{msg} at {_format_path(path)}")
        self.msg = msg
        self.pos = None
        self.path = path

    def __reduce__(  # type: ignore[override]
        self,
    ) -> tuple[type[UnsupportedValueError], tuple[str, tuple[str | int, ...]]]:
        return (type(self), (self.msg, self.path))


def _format_path(path: tuple[str | int, ...]) -> str:
    # Indexes only, never key text: keys can carry data, and messages may be logged.
    return "".join(f"[{p}]" if isinstance(p, int) else "[<key>]" for p in path)
