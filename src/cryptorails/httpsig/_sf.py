"""A strict parser and serializer for the subset of RFC 8941 structured fields that
RFC 9421 and RFC 9530 use: dictionaries, inner lists, items with parameters, and the bare
types integer, string, token, byte sequence and boolean.

Decimals are refused (no header used here carries one). Where RFC 8941 lets a parser be
lenient, this one is not: duplicate dictionary keys and parameter keys are errors (the
RFC would silently keep the last one, so two parsers could act on different values),
and byte sequences must be canonical padded base64.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass

__all__ = [
    "BareItem",
    "InnerList",
    "Item",
    "Params",
    "SFError",
    "Token",
    "parse_dictionary",
    "parse_item",
    "serialize_dictionary",
    "serialize_inner_list",
    "serialize_item",
]

_LCALPHA = frozenset(string.ascii_lowercase)
_KEY_CHARS = frozenset(string.ascii_lowercase + string.digits + "_-.*")
# RFC 9110 §5.6.2 tchar, plus ':' and '/' (RFC 8941 §3.3.4).
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")
_MAX_INTEGER = 999_999_999_999_999


class SFError(ValueError):
    """The text is not a structured field of the expected shape."""


@dataclass(frozen=True)
class Token:
    """An RFC 8941 token (distinct from a string with the same characters)."""

    value: str


BareItem = int | str | Token | bytes | bool
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True)
class Item:
    """A bare item with its parameters (in order)."""

    value: BareItem
    params: Params = ()


@dataclass(frozen=True)
class InnerList:
    """A parenthesized list of items, with parameters of its own."""

    items: tuple[Item, ...]
    params: Params = ()


class _Parser:
    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise SFError("structured fields are ASCII")
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.pos += 1

    def key(self) -> str:
        if self.peek() not in _LCALPHA and self.peek() != "*":
            raise SFError("a key starts with a lowercase letter or '*'")
        start = self.pos
        while self.peek() and self.peek() in _KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def params(self) -> Params:
        out: list[tuple[str, BareItem]] = []
        # A set, not a scan of `out`: a scan makes a field of n parameters cost n^2
        # comparisons, and the field is unauthenticated input.
        seen: set[str] = set()
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            if name in seen:
                raise SFError(f"duplicate parameter {name!r}")
            seen.add(name)
            out.append((name, value))
        return tuple(out)

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == "-" or char.isdigit():
            return self.integer()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            self.pos += 1
            flag = self.take()
            if flag not in ("0", "1"):
                raise SFError("a boolean is ?0 or ?1")
            return flag == "1"
        if char.isalpha() or char == "*":
            start = self.pos
            while self.peek() and self.peek() in _TOKEN_CHARS:
                self.pos += 1
            return Token(self.text[start : self.pos])
        raise SFError("not a bare item")

    def integer(self) -> int:
        sign = -1 if self.peek() == "-" else 1
        if sign < 0:
            self.pos += 1
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        digits = self.text[start : self.pos]
        if not digits or len(digits) > 15:
            raise SFError("an integer has 1 to 15 digits")
        if self.peek() == ".":
            raise SFError("decimals are not supported")
        return sign * int(digits)

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.take()
            if char == "":
                raise SFError("unterminated string")
            if char == "\\":
                escaped = self.take()
                if escaped not in ('"', "\\"):
                    raise SFError('only \\" and \\\\ are escapes')
                out.append(escaped)
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                raise SFError("strings hold visible ASCII and spaces")
            else:
                out.append(char)

    def byte_sequence(self) -> bytes:
        self.pos += 1
        start = self.pos
        while self.peek() and self.peek() in _B64_CHARS:
            self.pos += 1
        encoded = self.text[start : self.pos]
        if self.take() != ":":
            raise SFError("unterminated byte sequence")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SFError("a byte sequence is padded base64") from None
        if base64.b64encode(data).decode("ascii") != encoded:
            raise SFError("a byte sequence is canonical padded base64")
        return data

    def item_or_inner_list(self) -> Item | InnerList:
        if self.peek() != "(":
            value = self.bare_item()
            return Item(value, self.params())
        self.pos += 1
        items: list[Item] = []
        while True:
            self.skip_sp()
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            value = self.bare_item()
            items.append(Item(value, self.params()))
            if self.peek() not in (" ", ")"):
                raise SFError("inner list items are separated by spaces")


def parse_dictionary(text: str) -> list[tuple[str, Item | InnerList]]:
    """Parse an RFC 8941 dictionary (§4.2.2), keeping member order.

    Raises:
        SFError: not a well-formed dictionary, or a key given twice.
    """
    parser = _Parser(text)
    parser.skip_sp()
    out: list[tuple[str, Item | InnerList]] = []
    seen: set[str] = set()  # linear-time duplicate check, as in `_Parser.params`
    if parser.peek() == "":
        return out
    while True:
        name = parser.key()
        member: Item | InnerList
        if parser.peek() == "=":
            parser.pos += 1
            member = parser.item_or_inner_list()
        else:
            member = Item(True, parser.params())
        if name in seen:
            raise SFError(f"duplicate dictionary key {name!r}")
        seen.add(name)
        out.append((name, member))
        parser.skip_ows()
        if parser.peek() == "":
            return out
        if parser.take() != ",":
            raise SFError("dictionary members are separated by ','")
        parser.skip_ows()
        if parser.peek() == "":
            raise SFError("trailing ',' in a dictionary")


def _serialize_key(name: str) -> str:
    if not name or (name[0] not in _LCALPHA and name[0] != "*") or set(name) - _KEY_CHARS:
        raise SFError(f"not a valid key: {name!r}")
    return name


def _serialize_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise SFError("integer out of range")
        return str(value)
    if isinstance(value, str):
        if not all(" " <= c <= "~" for c in value):
            raise SFError("strings hold visible ASCII and spaces")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Token):
        text = value.value
        if not text or not (text[0].isalpha() or text[0] == "*") or set(text) - _TOKEN_CHARS:
            raise SFError(f"not a valid token: {text!r}")
        return text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    raise SFError(f"cannot serialize {type(value).__name__}")


def _serialize_params(params: Params) -> str:
    out = []
    for name, value in params:
        out.append(";" + _serialize_key(name))
        if value is not True:
            out.append("=" + _serialize_bare(value))
    return "".join(out)


def serialize_item(item: Item) -> str:
    """RFC 8941 §4.1.3."""
    return _serialize_bare(item.value) + _serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    """RFC 8941 §4.1.1.1."""
    return (
        "("
        + " ".join(serialize_item(i) for i in inner.items)
        + ")"
        + _serialize_params(inner.params)
    )


def serialize_dictionary(members: list[tuple[str, Item | InnerList]]) -> str:
    """RFC 8941 §4.1.2."""
    out = []
    for name, member in members:
        text = _serialize_key(name)
        if isinstance(member, InnerList):
            text += "=" + serialize_inner_list(member)
        elif member.value is True:
            text += _serialize_params(member.params)
        else:
            text += "=" + serialize_item(member)
        out.append(text)
    return ", ".join(out)


def parse_item(text: str) -> Item:
    """Parse an RFC 8941 item (§4.2.3) that fills all of `text`.

    Raises:
        SFError: not exactly one well-formed item.
    """
    parser = _Parser(text)
    value = parser.bare_item()
    item = Item(value, parser.params())
    if parser.peek() != "":
        raise SFError("trailing characters after an item")
    return item
