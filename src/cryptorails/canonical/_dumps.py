"""`dumps`: RFC 8785 (JCS) serialization.

The fast path lets the standard library's C encoder (sorted keys, no whitespace, literal
UTF-8) write the text, after one pass over the value that validates it and rewrites what
the encoder would spell differently from RFC 8785:

* integral floats below 2**53 become ints, because `repr` adds ".0"; floats from 2**53 up
  to 1e21 are refused: RFC 8785 writes them as integer literals beyond ±(2**53 - 1),
  which I-JSON (RFC 7493 §2.2) and `loads` refuse, so their canonical bytes could never
  be parsed back (or a token carrying them verified);
* floats in [1e-9, 1e-4) are printed by ECMAScript in fixed notation or with a one-digit
  exponent (`1e-7`), which no int or float `repr` produces: they become placeholder ints,
  a random per-call prefix plus an index, replaced in the text afterwards. A collision
  with user text is detected (the prefix count must match), never silently accepted;
* all other floats already print identically (`repr` has the shortest round-trip digits).

Member names with a character beyond U+FFFF, whose UTF-16 order (RFC 8785 §3.2.3) may
differ from the code-point order the encoder sorts by, are left to `_exact`. Two checks on
the output close the rest: lone surrogates (UTF-8 encoding fails) and noncharacters (a
byte search). Anything unusual, including every error, goes to `_exact`, a plain recursive
encoder that is the reference for both output and error messages.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from itertools import chain
from typing import Any

from ._errors import UnsupportedValueError
from ._loads import DEPTH_CEILING  # one nesting ceiling for both directions
from ._numbers import MAX_SAFE_INTEGER, es_float
from ._scan import FORBIDDEN_CHAR, forbidden_utf8

__all__ = ["DEPTH_CEILING", "dumps"]

_INF = math.inf
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    check_circular=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
)
_INDEX_DIGITS = 9
_STR = frozenset({str})
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class _UnfitError(Exception):
    """The fast path cannot express this value (or it is invalid): use `_exact`."""


class _Placeholders:
    """ECMAScript texts for floats the encoder cannot print, keyed by marker int."""

    def __init__(self) -> None:
        # 20 random digits: user text contains the prefix only by a 2**-66 accident per
        # position, and even then the count check below sends the value to `_exact`.
        self.prefix = str(10**19 + secrets.randbelow(9 * 10**19))
        self.base = int(self.prefix) * 10**_INDEX_DIGITS
        self.texts: list[str] = []
        self.objects: list[dict[Any, Any]] = []  # every object seen, for `names_fit`

    def names_fit(self) -> bool:
        """Whether all member names are str and sort alike by code point and UTF-16."""
        names = chain.from_iterable(self.objects)
        if not set(map(type, names)) <= _STR:
            return False
        joined = "".join(chain.from_iterable(self.objects))
        # Only names with a character beyond U+FFFF can sort differently in UTF-16.
        return joined.isascii() or _ASTRAL.search(joined) is None

    def add(self, value: float) -> int:
        self.texts.append(es_float(value))
        marker: int = self.base + len(self.texts) - 1
        return marker

    def substitute(self, text: str) -> str:
        """Replace the markers in the encoded `text` with their ECMAScript texts."""
        pieces = text.split(self.prefix)
        if len(pieces) - 1 != len(self.texts):
            raise _UnfitError
        seen = set()
        out = [pieces[0]]
        for piece in pieces[1:]:
            index = int(piece[:_INDEX_DIGITS])
            seen.add(index)
            out.append(self.texts[index])
            out.append(piece[_INDEX_DIGITS:])
        if len(seen) != len(self.texts):
            raise _UnfitError
        return "".join(out)


def _float(value: float, marks: _Placeholders) -> object:
    """The replacement for a float whose `repr` is not its ECMAScript form."""
    size = -value if value < 0 else value
    if MAX_SAFE_INTEGER < size < 1e21 or size == _INF or size != size:
        raise _UnfitError  # an unsafe integer form, NaN or infinity: `_exact` says which
    if size >= 1e21:
        return value  # repr and ECMAScript agree: "1e+21"
    if value.is_integer():
        return int(value)  # exact below 2**53; also 0.0 and -0.0
    if 1e-9 <= size < 1e-4:
        return marks.add(value)  # repr pads the exponent ("1e-05"); ECMAScript does not
    return value


# `_array` and `_object` repeat the same per-item checks on purpose: sharing them (one
# generic loop over (key, item) pairs) measured 10% slower on the 5 MB benchmark, and
# this walk is the fast path's whole cost on top of the C encoder. Change both together.


def _array(items: list[Any] | tuple[Any, ...], depth: int, marks: _Placeholders) -> object:
    if depth > DEPTH_CEILING:
        raise _UnfitError
    new: list[Any] | None = None
    replacement: object
    for index, item in enumerate(items):
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            raise _UnfitError
        if kind is float:
            size = -item if item < 0 else item
            if 1e-4 <= size <= MAX_SAFE_INTEGER:
                if not item.is_integer():
                    continue
                replacement = int(item)  # exact below 2**53
            elif 1e21 <= size < _INF or 0.0 < size < 1e-9:
                continue
            else:
                replacement = _float(item, marks)
        elif kind is dict:
            replacement = _object(item, depth + 1, marks)
        elif kind is list or kind is tuple:
            replacement = _array(item, depth + 1, marks)
        else:
            raise _UnfitError
        if replacement is not item:
            if new is None:
                new = list(items)
            new[index] = replacement
    if new is None:
        return items
    return new


def _object(members: dict[Any, Any], depth: int, marks: _Placeholders) -> object:
    if depth > DEPTH_CEILING:
        raise _UnfitError
    marks.objects.append(members)
    new: dict[Any, Any] | None = None
    replacement: object
    for name, item in members.items():
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            raise _UnfitError
        if kind is float:
            size = -item if item < 0 else item
            if 1e-4 <= size <= MAX_SAFE_INTEGER:
                if not item.is_integer():
                    continue
                replacement = int(item)  # exact below 2**53
            elif 1e21 <= size < _INF or 0.0 < size < 1e-9:
                continue
            else:
                replacement = _float(item, marks)
        elif kind is dict:
            replacement = _object(item, depth + 1, marks)
        elif kind is list or kind is tuple:
            replacement = _array(item, depth + 1, marks)
        else:
            raise _UnfitError
        if replacement is not item:
            if new is None:
                new = dict(members)
            new[name] = replacement
    if new is None:
        return members
    return new


def _fast(value: object) -> bytes:
    marks = _Placeholders()
    prepared = _array([value], 0, marks)
    if marks.objects and not marks.names_fit():
        raise _UnfitError
    text = _ENCODER.encode(prepared)[1:-1]
    if marks.texts:
        text = marks.substitute(text)
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise _UnfitError from None  # a lone surrogate
    if forbidden_utf8(encoded) is not None:
        raise _UnfitError
    return encoded


def dumps(obj: object) -> bytes:
    """Serialize `obj` as RFC 8785 canonical JSON (UTF-8 bytes, no whitespace).

    Accepts dict (str keys), list, tuple, str, int, float, bool and None, exactly those
    types (no subclasses other than bool), nested up to 512 levels.

    Raises:
        UnsupportedValueError: a value has no I-JSON form: another type, a non-str key,
            NaN or Infinity, an int outside ±(2**53 - 1), a surrogate or noncharacter in
            a string, a circular reference or too deep nesting. `.path` locates it.
    """
    try:
        return _fast(obj)
    except (_UnfitError, RecursionError):
        pass
    try:
        return "".join(_Exact().encode(obj, (), 0)).encode("utf-8")
    except RecursionError:
        raise UnsupportedValueError("nesting too deep for the interpreter here") from None


_ESCAPES = {chr(c): f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"})
_ESCAPES.update({'"': '\\"', "\\": "\\\\"})
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


class _Exact:
    """The reference encoder: RFC 8785 written out plainly; precise errors with paths."""

    def __init__(self) -> None:
        self.open: set[int] = set()  # ids of the containers being encoded (cycles)

    def encode(self, value: Any, path: tuple[str | int, ...], depth: int) -> list[str]:
        kind = type(value)
        if value is None:
            return ["null"]
        if kind is bool:
            return ["true" if value else "false"]
        if kind is str:
            return [self.string(value, path)]
        if kind is int:
            if abs(value) > MAX_SAFE_INTEGER:
                raise UnsupportedValueError("integer outside ±(2**53 - 1)", path)
            return [str(value)]
        if kind is float:
            if not math.isfinite(value):
                raise UnsupportedValueError("NaN and Infinity have no JSON form", path)
            if MAX_SAFE_INTEGER < abs(value) < 1e21:
                # RFC 8785 writes these as integer literals, which I-JSON (RFC 7493 §2.2)
                # and `loads` refuse: signing such a payload could never verify.
                raise UnsupportedValueError(
                    "number whose canonical form is an integer outside ±(2**53 - 1)", path
                )
            return [es_float(value)]
        if kind is dict or kind is list or kind is tuple:
            if id(value) in self.open:
                raise UnsupportedValueError("circular reference", path)
            if depth >= DEPTH_CEILING:
                raise UnsupportedValueError(f"nesting deeper than {DEPTH_CEILING}", path)
            self.open.add(id(value))
            try:
                if kind is dict:
                    return self.members(value, path, depth + 1)
                return self.items(value, path, depth + 1)
            finally:
                self.open.discard(id(value))
        raise UnsupportedValueError(f"unsupported type {kind.__name__}", path)

    def items(
        self, items: list[Any] | tuple[Any, ...], path: tuple[str | int, ...], depth: int
    ) -> list[str]:
        out = ["["]
        for index, item in enumerate(items):
            if index:
                out.append(",")
            out += self.encode(item, (*path, index), depth)
        out.append("]")
        return out

    def members(
        self, members: dict[Any, Any], path: tuple[str | int, ...], depth: int
    ) -> list[str]:
        for name in members:
            if type(name) is not str:
                raise UnsupportedValueError("member name is not a str", path)
            self.string(name, (*path, name))
        # RFC 8785 §3.2.3: order by UTF-16 code units; big-endian bytes compare alike.
        names: list[str] = sorted(members, key=_utf16)  # all str, checked above
        out = ["{"]
        for index, name in enumerate(names):
            if index:
                out.append(",")
            out.append(self.string(name, path))
            out.append(":")
            out += self.encode(members[name], (*path, name), depth)
        out.append("}")
        return out

    @staticmethod
    def string(value: str, path: tuple[str | int, ...]) -> str:
        if FORBIDDEN_CHAR.search(value):
            raise UnsupportedValueError("surrogate or noncharacter code point", path)
        # RFC 8785 §3.2.2.2: escape only '"', '\\' and U+0000..U+001F.
        return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], value) + '"'


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be")
