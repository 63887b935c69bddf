"""Properties of the RFC 8941 subset (`_sf`) and of the raw HTTP/1.1 parsers (`_message`).

Round trips run over values generated inside the supported subset; the "never raises
anything else" properties run over arbitrary text and bytes, and over text drawn from
the characters the grammars care about, so that deeper parser states are reached too.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptorails.httpsig import HttpMessage, parse_request, parse_response
from cryptorails.httpsig._sf import (
    BareItem,
    InnerList,
    Item,
    Params,
    SFError,
    Token,
    parse_dictionary,
    parse_item,
    serialize_dictionary,
    serialize_inner_list,
    serialize_item,
)

MAX_INTEGER = 999_999_999_999_999
TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/"

# --- RFC 8941 values inside the supported subset ---------------------------------------

keys = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase + "*"),
    st.text(string.ascii_lowercase + string.digits + "_-.*", max_size=8),
)
bare_items: st.SearchStrategy[BareItem] = st.one_of(
    st.integers(-MAX_INTEGER, MAX_INTEGER),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16),
    st.builds(
        Token,
        st.builds(
            str.__add__,
            st.sampled_from(string.ascii_letters + "*"),
            st.text(TOKEN_CHARS, max_size=10),
        ),
    ),
    st.binary(max_size=24),
    st.booleans(),
)
params: st.SearchStrategy[Params] = st.lists(
    st.tuples(keys, bare_items), max_size=3, unique_by=lambda kv: kv[0]
).map(tuple)
items = st.builds(Item, bare_items, params)
inner_lists = st.builds(InnerList, st.lists(items, max_size=4).map(tuple), params)
dictionaries = st.lists(
    st.tuples(keys, items | inner_lists), max_size=5, unique_by=lambda kv: kv[0]
)

# Text made of the characters the grammar branches on, plus a few it must refuse.
sf_like_text = st.text(st.sampled_from(list('abz09*-_.;=,() "\\:?/+\tAZ%\x00\x7f')), max_size=40)
latin1_text = st.binary().map(lambda b: b.decode("latin-1"))


def typed(value: object) -> object:
    """`value` with every bare item tagged by its type, so that ``1`` and ``True`` (equal
    in Python) and a string and a token with the same characters compare unequal."""
    if isinstance(value, Item):
        return ("item", typed(value.value), typed(value.params))
    if isinstance(value, InnerList):
        return ("inner", tuple(typed(i) for i in value.items), typed(value.params))
    if isinstance(value, tuple | list):
        return tuple(typed(v) for v in value)
    return (type(value).__name__, value)


@given(dictionaries)
def test_dictionary_round_trip(members: list[tuple[str, Item | InnerList]]) -> None:
    text = serialize_dictionary(members)
    assert typed(parse_dictionary(text)) == typed(members)


@given(inner_lists)
def test_inner_list_round_trip(inner: InnerList) -> None:
    assert typed(parse_dictionary("sig=" + serialize_inner_list(inner))) == typed([("sig", inner)])


@given(items)
def test_item_round_trip(item: Item) -> None:
    assert typed(parse_item(serialize_item(item))) == typed(item)


@settings(max_examples=300)
@given(st.text() | latin1_text | sf_like_text)
def test_parse_dictionary_raises_only_sferror(text: str) -> None:
    try:
        parsed = parse_dictionary(text)
    except SFError:
        return
    # Whatever parses is in the subset: it serializes, and the result parses the same.
    assert typed(parse_dictionary(serialize_dictionary(parsed))) == typed(parsed)


@settings(max_examples=300)
@given(st.text() | latin1_text | sf_like_text)
def test_parse_item_raises_only_sferror(text: str) -> None:
    try:
        parsed = parse_item(text)
    except SFError:
        return
    assert typed(parse_item(serialize_item(parsed))) == typed(parsed)


# --- raw HTTP/1.1 --------------------------------------------------------------------

field_names = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1)
# RFC 9110 §5.5: field-vchar (VCHAR / obs-text) with SP and HTAB only inside.
field_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")
    | st.sampled_from([" ", "\t"]),
    max_size=20,
).map(lambda v: v.strip(" \t"))
headers = st.lists(st.tuples(field_names, field_values), max_size=5)
# Bodies rich in line breaks: a body may hold anything, including a blank line.
bodies = st.lists(
    st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\n\n", b"x", b": "])
    | st.binary(max_size=8),
    max_size=10,
).map(b"".join)
methods = st.text(string.ascii_uppercase, min_size=1, max_size=7)
hosts = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,5})?(:[0-9]{1,5})?", fullmatch=True)
paths = st.from_regex(r"/[A-Za-z0-9._~/-]{0,12}(\?[A-Za-z0-9=&]{0,10})?", fullmatch=True)
line_ends = st.sampled_from(["\r\n", "\n"])
http_like_bytes = st.lists(
    st.sampled_from(
        [
            *(b"GET", b"HTTP/1.1", b" ", b"/", b"\r\n", b"\n", b"\r", b"\t", b":", b"Host"),
            *(b"a", b"http://a", b"https://[", b"200", b"\xb2", b"0", b"?", b"#", b"@"),
        ]
    ),
    max_size=30,
).map(b"".join)


def raw_message(start: str, fields: list[tuple[str, str]], body: bytes, eol: str) -> bytes:
    head = eol.join([start, *(f"{name}: {value}" for name, value in fields)])
    return (head + eol + eol).encode("latin-1") + body


@given(methods, hosts, paths, headers, bodies, line_ends)
def test_request_round_trip(
    method: str, host: str, path: str, fields: list[tuple[str, str]], body: bytes, eol: str
) -> None:
    fields = [("Host", host), *fields]
    raw = raw_message(f"{method} {path} HTTP/1.1", fields, body, eol)
    assert parse_request(raw) == HttpMessage(
        method=method, target_uri=f"https://{host}{path}", headers=tuple(fields), body=body
    )


@given(
    st.integers(100, 999),
    st.text(string.ascii_letters + " ", max_size=12),
    headers,
    bodies,
    line_ends,
)
def test_response_round_trip(
    status: int, reason: str, fields: list[tuple[str, str]], body: bytes, eol: str
) -> None:
    raw = raw_message(f"HTTP/1.1 {status} {reason}".rstrip(" "), fields, body, eol)
    assert parse_response(raw) == HttpMessage(status=status, headers=tuple(fields), body=body)


@settings(max_examples=300)
@given(st.binary() | http_like_bytes)
def test_parsers_raise_only_valueerror(raw: bytes) -> None:
    for parse in (parse_request, parse_response):
        try:
            message = parse(raw)
        except ValueError:
            continue
        assert isinstance(message, HttpMessage)


@settings(max_examples=500)
@given(
    st.text(string.digits, max_size=5)
    | st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=5)
)
def test_status_code_is_three_ascii_digits(code: str) -> None:
    try:
        message = parse_response(f"HTTP/1.1 {code} OK\r\n\r\n".encode("latin-1"))
    except ValueError:
        return
    assert re.fullmatch("[0-9]{3}", code) is not None
    assert message.status == int(code)


# --- regressions found by the properties above ------------------------------------------


def test_blank_line_in_body_of_lf_message() -> None:
    # The head ends at the first blank line, whatever the line ending; a CRLF blank line
    # later in the body is body.
    raw = b"POST /x HTTP/1.1\nHost: example.com\n\nfirst\r\n\r\nsecond"
    message = parse_request(raw)
    assert message.headers == (("Host", "example.com"),)
    assert message.body == b"first\r\n\r\nsecond"


@pytest.mark.parametrize("code", ["0200", "20", "2000", "²00", "+200", " 200"])
def test_status_code_must_be_three_digits(code: str) -> None:
    with pytest.raises(ValueError, match="not a status line"):
        parse_response(f"HTTP/1.1 {code} OK\r\n\r\n".encode("latin-1"))
