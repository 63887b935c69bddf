"""`loads`: strict I-JSON (RFC 7493) parsing.

The fast path is the standard library's C scanner, whose leniencies are closed around it:

* bytes are decoded here, strictly (the json module would accept UTF-16/32, a BOM and,
  through "surrogatepass", encoded surrogates);
* raw surrogates and noncharacters are found in the UTF-8 form at memchr speed;
* NaN, Infinity and -Infinity reach `parse_constant`, which refuses them;
* duplicate names reach `object_pairs_hook`, which refuses them;
* numbers are only routed through range-checking hooks when a literal outside strings may
  be out of range (a long digit run, a large exponent); most documents have none;
* nesting is measured on the text outside strings before the recursive C scanner runs;
* escapes that may decode to surrogates or noncharacters trigger a check of the decoded
  strings.

Whenever something fails, the exact validator in `_scan` reports the first violation in
document order with its position; the checks above only decide whether it has to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NoReturn

from ._errors import (
    CanonicalJSONError,
    DepthLimitError,
    EncodingError,
    ForbiddenCodePointError,
    JSONSyntaxError,
    NumberRangeError,
    SizeLimitError,
)
from ._numbers import float_token_ok, int_token_ok
from ._scan import (
    FORBIDDEN_CHAR,
    RISKY_NUMBER,
    first_error,
    forbidden_utf8,
    may_have_forbidden_escape,
    numbers_may_be_out_of_range,
    outside_strings,
    too_deep,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEPTH_CEILING", "loads"]

# The C scanner recurses once per nesting level; this keeps it far from the interpreter's
# recursion limit whatever the caller's own stack depth.
DEPTH_CEILING = 512
_BOM = b"\xef\xbb\xbf"


class _RefusedError(Exception):
    """Raised by a hook: something is wrong; `first_error` will say what and where."""

    def __init__(self, provisional: CanonicalJSONError) -> None:
        super().__init__()
        self.provisional = provisional


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _RefusedError(JSONSyntaxError("duplicate member name"))
    return members


def _no_constant(name: str) -> NoReturn:
    raise _RefusedError(JSONSyntaxError(f"{name} is not JSON"))


def _checked_int(token: str) -> int:
    if not int_token_ok(token):
        raise _RefusedError(NumberRangeError("integer outside ±(2**53 - 1)"))
    return int(token)


def _checked_float(token: str) -> float:
    if not float_token_ok(token):
        raise _RefusedError(NumberRangeError("number overflows a double"))
    return float(token)


_PLAIN = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_no_constant)
_RANGED = json.JSONDecoder(
    object_pairs_hook=_unique_members,
    parse_constant=_no_constant,
    parse_int=_checked_int,
    parse_float=_checked_float,
)


# The default input limit. A valid document parses at C speed, but locating the first
# violation in an invalid one walks it in Python (seconds for many megabytes), so the
# default keeps hostile input cheap; raise it deliberately for large trusted documents.
DEFAULT_MAX_BYTES = 1024 * 1024


def loads(data: bytes | str, *, max_depth: int = 128, max_bytes: int = DEFAULT_MAX_BYTES) -> object:
    """Parse strict I-JSON: RFC 8259 grammar plus the RFC 7493 restrictions.

    Args:
        data: UTF-8 bytes (no byte order mark), or a str.
        max_depth: the deepest nesting of arrays and objects accepted (at most 512).
        max_bytes: the largest input accepted, in UTF-8 bytes (default 1 MiB); checked
            before any parsing.

    Returns:
        dict, list, str, int, float, bool or None. Integers are literals without a
        fraction or exponent; `-0` gives 0, `-0.0` gives -0.0.

    Raises:
        CanonicalJSONError: a subclass saying what is wrong, with `.pos` its offset in
            `data` (bytes offset for bytes, character offset for str).
        TypeError: `data` is not bytes-like or str.
        ValueError: a limit is negative, or `max_depth` is above 512.
    """
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise TypeError("max_depth must be an int")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError("max_bytes must be an int")
    if not 0 <= max_depth <= DEPTH_CEILING:
        raise ValueError(f"max_depth must be between 0 and {DEPTH_CEILING}")
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    if isinstance(data, str):
        text, raw = _from_str(data, max_bytes)
        to_input: Callable[[int], int] = _identity
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        text = _from_bytes(raw, max_bytes)
        to_input = _byte_offset(text)
    else:
        raise TypeError(f"expected bytes or str, not {type(data).__name__}")
    try:
        return _parse(text, raw, max_depth)
    except CanonicalJSONError as exc:
        if exc.pos is not None and to_input is not _identity:
            raise type(exc)(exc.msg, to_input(exc.pos)) from None
        raise


def _identity(pos: int) -> int:
    return pos


def _byte_offset(text: str) -> Callable[[int], int]:
    return lambda pos: len(text[:pos].encode())


def _from_bytes(raw: bytes, max_bytes: int) -> str:
    if len(raw) > max_bytes:
        raise SizeLimitError(f"input larger than {max_bytes} bytes", max_bytes)
    if raw.startswith(_BOM):
        raise EncodingError("byte order mark", 0)
    try:
        return raw.decode("utf-8")  # strict: no invalid, overlong or surrogate sequences
    except UnicodeDecodeError as exc:
        raise EncodingError("invalid UTF-8", exc.start) from None


def _from_str(text: str, max_bytes: int) -> tuple[str, bytes]:
    # Measured in UTF-8 bytes, like bytes input. Looking at no more than max_bytes + 1
    # characters first bounds the work on a huge str.
    head = text[: max_bytes + 1].encode("utf-8", "surrogatepass")
    if len(head) > max_bytes:
        fits = _trim_partial(head, max_bytes)
        raise SizeLimitError(
            f"input larger than {max_bytes} bytes",
            len(fits.decode("utf-8", "surrogatepass")),
        )
    if text.startswith("\ufeff"):
        raise EncodingError("byte order mark", 0)
    try:
        return text, text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ForbiddenCodePointError("surrogate code point", exc.start) from None


def _trim_partial(encoded: bytes, limit: int) -> bytes:
    """The longest prefix of `encoded` within `limit` bytes that ends on a character."""
    end = limit
    while end > 0 and 0x80 <= encoded[end] < 0xC0:
        end -= 1  # encoded[end] continues the character that starts before it
    return encoded[:end]


def _parse(text: str, raw: bytes, max_depth: int) -> object:
    at = forbidden_utf8(raw)
    if at is not None:
        raise ForbiddenCodePointError("noncharacter", len(raw[:at].decode()))
    provisional: CanonicalJSONError
    # Counting on the UTF-8 bytes: a str with any astral character is 4 bytes a char.
    risky = RISKY_NUMBER.search(text) is not None
    outside = outside_strings(text) if risky else raw
    deep = outside.count(b"[") + outside.count(b"{") > max_depth
    if deep and not risky:
        outside = outside_strings(text)
    if deep and too_deep(outside, max_depth):
        provisional = DepthLimitError(f"nesting deeper than {max_depth}")
    else:
        ranged = risky and numbers_may_be_out_of_range(outside)
        decoder = _RANGED if ranged else _PLAIN
        try:
            value = decoder.decode(text)
        except json.JSONDecodeError as exc:
            provisional = JSONSyntaxError(exc.msg, exc.pos)
        except _RefusedError as exc:
            provisional = exc.provisional
        except RecursionError:
            provisional = DepthLimitError("nesting deeper than the interpreter allows here")
        else:
            if not may_have_forbidden_escape(raw) or not _has_forbidden_string(value):
                return value
            provisional = ForbiddenCodePointError("escaped surrogate or noncharacter")
    raise first_error(text, max_depth) or provisional


def _has_forbidden_string(value: object) -> bool:
    search = FORBIDDEN_CHAR.search
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
