"""Text-level checks and the exact, position-reporting validator.

`loads` parses with the standard library's C scanner and closes its leniencies with
cheap whole-text scans (see `_loads`). When any of those says no, `first_error` walks the
text once more, token by token, and reports the first violation in document order with its
exact position. It is the reference: it decides what is an error and where, in linear
time, without recursion, and stops at the first problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from json import JSONDecodeError
from json import decoder as _decoder

from ._errors import (
    CanonicalJSONError,
    DepthLimitError,
    DuplicateNameError,
    ForbiddenCodePointError,
    JSONSyntaxError,
    NumberRangeError,
)
from ._numbers import float_token_ok, int_token_ok

# The C string scanner json uses (not in typeshed's stubs): decodes one string literal.
scanstring: Callable[[str, int, bool], tuple[str, int]] = _decoder.scanstring  # type: ignore[attr-defined]

__all__ = [
    "FORBIDDEN_CHAR",
    "RISKY_NUMBER",
    "first_error",
    "forbidden_utf8",
    "may_have_forbidden_escape",
    "numbers_may_be_out_of_range",
    "outside_strings",
    "too_deep",
]

# RFC 7493 §2.1: surrogates, U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17)
)
FORBIDDEN_CHAR = re.compile(f"[\ud800-\udfff{_NONCHARACTERS}]")

# The same noncharacters in UTF-8. Both patterns start with a literal byte, which the
# regex engine finds at memchr speed. U+FDD0..U+FDEF, U+FFFE and U+FFFF are EF B7 90..AF
# and EF BF BE/BF; in the other planes they end in BF BE/BF after a 4-byte lead and one of
# 8F/9F/AF/BF (the remaining candidates, such as U+0FFE, are skipped by that check).
_BMP_NONCHARACTER = re.compile(rb"\xef(?:\xb7[\x90-\xaf]|\xbf[\xbe\xbf])")
_PLANE_END = re.compile(rb"\xbf(?=[\xbe\xbf])")


def forbidden_utf8(data: bytes) -> int | None:
    """Byte offset of the first noncharacter in valid UTF-8, or None."""
    match = _BMP_NONCHARACTER.search(data)
    first = match.start() if match else len(data)
    for tail in _PLANE_END.finditer(data, 2, first):
        at = tail.start()
        if 0xF0 <= data[at - 2] <= 0xF4 and data[at - 1] in b"\x8f\x9f\xaf\xbf":
            first = at - 2
            break
    return first if first < len(data) else None


# A string, or an unterminated one running to the end of the text. Possessive loops and
# the end-of-text alternative make every attempt succeed without backtracking, so a stray
# quote cannot make the scan quadratic.
_STRINGS = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)


def outside_strings(text: str) -> bytes:
    """The text outside string literals, as UTF-8: exact up to the first grammar error.

    Past the first error the result may be wrong, but the parser never gets there.
    """
    return _STRINGS.sub("", text).encode()


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_CHUNK = 1 << 16


def too_deep(outside: bytes, max_depth: int) -> bool:
    """Whether some prefix nests brackets beyond `max_depth` (from `outside_strings`).

    Up to the first grammar error the parser's depth is this bracket balance, and it
    stops there, so the largest balance over all prefixes bounds the depth it reaches.
    """
    steps = outside.translate(_DEPTH_STEP, _NOT_BRACKETS)
    if len(steps) <= max_depth:
        return False
    if b"\x01" * (max_depth + 1) in steps:
        return True
    # Shallow documents, the common case: each pass deletes the innermost bracket pairs,
    # so a balanced text of depth d is empty after d passes. A few passes at most; then
    # the exact linear scan below.
    reduced = steps
    for _ in range(min(max_depth, 16)):
        shorter = reduced.replace(b"\x01\xff", b"")
        if not shorter:
            return False
        if len(shorter) == len(reduced):
            break
        reduced = shorter
    signed = memoryview(steps).cast("b")
    level = 0
    for start in range(0, len(signed), _CHUNK):
        levels = list(accumulate(signed[start : start + _CHUNK], initial=level))
        if max(levels) > max_depth:
            return True
        level = levels[-1]
    return False


# An escape that may decode to a surrogate or a noncharacter. Ignoring backslash parity
# only adds false alarms (an escaped backslash before "ud800"), which cost time, not
# correctness.
_RISKY_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|[fF][dD][dDeE]|[fF][fF][fF][eEfF])")


def may_have_forbidden_escape(raw: bytes) -> bool:
    """False only if no \\u escape can decode to a forbidden code point.

    Works on the UTF-8 form: a quarter of the memory of a str holding any astral
    character, so the scan is faster.
    """
    return b"\\u" in raw and _RISKY_ESCAPE.search(raw) is not None


# Without a run of 16 digits no integer leaves ±(2**53 - 1) and no literal has enough
# digits to overflow; without a 3-digit exponent no exponent can overflow a double.
RISKY_NUMBER = re.compile(r"[0-9]{16}|[eE][+-]?[0-9]{3}")
# Exponents of 290 and above; with fewer than 16 integer digits, smaller ones cannot
# overflow (10**15 * 10**289 < 10**308). One pattern per letter: a literal first
# character lets the regex engine skip ahead at memchr speed.
_BIG_EXPONENTS = tuple(
    # (?![0-9]): the whole exponent, so e3089 is never read as e308.
    re.compile(letter + rb"\+?0*(?:29[0-9]|[3-9][0-9]{2}|[1-9][0-9]{3,})(?![0-9])")
    for letter in (b"e", b"E")
)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_DIGITS = b"0" * 16
_FRACTION = re.compile(rb"\.[0-9]+")
_MANTISSA = frozenset(b"0123456789.-")
_NUMBER_TAIL = re.compile(rb"\.?(?:[eE][+-]?[0-9]*)?")


def numbers_may_be_out_of_range(outside: bytes) -> bool:
    """False only if every number literal (from `outside_strings`) is in range.

    Only literals that could be out of range are looked at, so a document full of
    ordinary numbers costs two regex scans.
    """
    for big_exponent in _BIG_EXPONENTS:
        for match in big_exponent.finditer(outside):
            start = match.start()
            while start > 0 and outside[start - 1] in _MANTISSA:
                start -= 1
            try:
                if not float_token_ok(outside[start : match.end()].decode()):
                    return True
            except ValueError:
                return True  # not a number literal: the parser will say so
    integral = _FRACTION.sub(b".", outside)
    # Digits as zeros: the runs of 16 or more are found by plain substring search.
    zeros = integral.translate(_DIGITS_AS_ZERO)
    start = zeros.find(_SIXTEEN_DIGITS)
    while start >= 0:
        end = start + 16
        while end < len(zeros) and zeros[end] == 0x30:
            end += 1
        if end < len(integral) and integral[end] in b".eE":
            # A long integer part: the literal without its fraction is within a unit of
            # its integer part of the value, so below 1e308 it cannot overflow.
            stop = _NUMBER_TAIL.match(integral, end).end()  # type: ignore[union-attr]
            if not abs(float(integral[start:stop].decode())) < 1e308:
                return True
        else:
            sign = "-" if start > 0 and integral[start - 1] == 0x2D else ""
            if not int_token_ok(sign + integral[start:end].decode()):
                return True
        start = zeros.find(_SIXTEEN_DIGITS, end)
    return False


_TOKEN = re.compile(
    r"[ \t\n\r]*+(?:"
    r'(")'
    r"|(-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+)"
    r"|([\[\]{}:,])"
    r"|(true|false|null))"
)
_WHITESPACE = re.compile(r"[ \t\n\r]*+")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)

# Parser states.
_VALUE, _VALUE_OR_END, _NAME, _NAME_OR_END, _COLON, _COMMA_OR_END, _DONE = range(7)


def first_error(text: str, max_depth: int) -> CanonicalJSONError | None:
    """The first violation of strict I-JSON in `text`, with its character offset."""
    stack: list[set[str] | None] = []  # a set of member names per open object
    state = _VALUE
    pos = 0
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            at = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
            if at == len(text):
                return None if state == _DONE else JSONSyntaxError("unexpected end", at)
            return JSONSyntaxError("unexpected character", at)
        kind = match.lastindex
        start = match.start(kind)  # type: ignore[arg-type]
        pos = match.end()
        if state == _DONE:
            return JSONSyntaxError("extra data after the value", start)
        if kind == 1:
            try:
                value, pos = scanstring(text, start + 1, True)
            except JSONDecodeError as exc:
                return JSONSyntaxError("invalid string", exc.pos)
            if FORBIDDEN_CHAR.search(value):
                return ForbiddenCodePointError(
                    "escaped surrogate or noncharacter", _forbidden_escape(text, start)
                )
            if state in (_NAME, _NAME_OR_END):
                names = stack[-1]
                if names is None:  # unreachable: only objects expect a name
                    return JSONSyntaxError("unexpected string", start)
                if value in names:
                    return DuplicateNameError("duplicate member name", start)
                names.add(value)
                state = _COLON
                continue
        elif kind == 2:
            token = match.group(2)
            exact = "." not in token and "e" not in token and "E" not in token
            if state in (_VALUE, _VALUE_OR_END) and not (
                int_token_ok(token) if exact else float_token_ok(token)
            ):
                return NumberRangeError(
                    "integer outside ±(2**53 - 1)" if exact else "number overflows a double",
                    start,
                )
        elif kind == 3:
            char = match.group(3)
            if char == "[" or char == "{":
                if state != _VALUE and state != _VALUE_OR_END:
                    return JSONSyntaxError("unexpected bracket", start)
                if len(stack) >= max_depth:
                    return DepthLimitError(f"nesting deeper than {max_depth}", start)
                stack.append(set() if char == "{" else None)
                state = _NAME_OR_END if char == "{" else _VALUE_OR_END
                continue
            if char == ":":
                if state != _COLON:
                    return JSONSyntaxError("unexpected colon", start)
                state = _VALUE
                continue
            if char == ",":
                if state != _COMMA_OR_END:
                    return JSONSyntaxError("unexpected comma", start)
                state = _VALUE if stack[-1] is None else _NAME
                continue
            is_object = char == "}"
            if not stack or (stack[-1] is not None) != is_object:
                return JSONSyntaxError("unexpected closing bracket", start)
            allowed = _NAME_OR_END if is_object else _VALUE_OR_END
            if state != _COMMA_OR_END and state != allowed:
                return JSONSyntaxError("unexpected closing bracket", start)
            stack.pop()
            state = _COMMA_OR_END if stack else _DONE
            continue
        # A complete value: a string, a number or a literal.
        if state != _VALUE and state != _VALUE_OR_END:
            return JSONSyntaxError("unexpected value", start)
        state = _COMMA_OR_END if stack else _DONE


def _forbidden_escape(text: str, quote: int) -> int:
    """Offset of the first escape in the string at `quote` that decodes to a forbidden
    code point (raw ones were rejected before parsing)."""
    end = scanstring(text, quote + 1, True)[1]
    pending = -1  # offset of an unpaired high-surrogate escape
    high = 0
    for match in _ESCAPE.finditer(text, quote + 1, end - 1):
        hexdigits = match.group(1)
        unit = int(hexdigits, 16) if hexdigits else -1
        if pending >= 0:
            if 0xDC00 <= unit <= 0xDFFF and match.start() == pending + 6:
                code = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                if FORBIDDEN_CHAR.match(chr(code)):
                    return pending
                pending = -1
                continue
            return pending
        if 0xD800 <= unit <= 0xDBFF:
            pending, high = match.start(), unit
        elif unit >= 0 and FORBIDDEN_CHAR.match(chr(unit)):
            return match.start()
    return pending if pending >= 0 else quote
