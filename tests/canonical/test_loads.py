"""loads: strict I-JSON, each error class with its exact position, limits, hostile input."""

from __future__ import annotations

import pickle

import pytest

import cryptorails.canonical as canonical
from cryptorails.canonical import (
    CanonicalJSONError,
    DepthLimitError,
    DuplicateNameError,
    EncodingError,
    ForbiddenCodePointError,
    JSONSyntaxError,
    NumberRangeError,
    SizeLimitError,
    UnsupportedValueError,
    loads,
)
from cryptorails.canonical._loads import DEFAULT_MAX_BYTES
from cryptorails.errors import CryptoRailsError

ERRORS = (
    JSONSyntaxError,
    EncodingError,
    DuplicateNameError,
    ForbiddenCodePointError,
    NumberRangeError,
    DepthLimitError,
    SizeLimitError,
    UnsupportedValueError,
)


def test_hierarchy_is_pinned() -> None:
    assert CanonicalJSONError.__mro__[1:3] == (CryptoRailsError, ValueError)
    for cls in ERRORS:
        assert cls.__bases__ == (CanonicalJSONError,)
        assert getattr(canonical, cls.__name__) is cls
        assert cls.__name__ in canonical.__all__
    assert set(canonical.__all__) == {
        "CanonicalJSONError",
        *(cls.__name__ for cls in ERRORS),
        "dumps",
        "is_canonical",
        "loads",
    }


def test_errors_pickle_and_keep_position() -> None:
    err = DuplicateNameError("duplicate member name", 7)
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), copy.msg, copy.pos, str(copy)) == (
        DuplicateNameError,
        "duplicate member name",
        7,
        "duplicate member name (at offset 7)",
    )
    unsupported = pickle.loads(pickle.dumps(UnsupportedValueError("bad", ("a", 1))))
    assert (unsupported.path, unsupported.pos) == (("a", 1), None)


HUGE = 64 * 1024 * 1024


def fails(data: bytes | str, **limits: int) -> CanonicalJSONError:
    with pytest.raises(CanonicalJSONError) as info:
        loads(data, **limits)
    return info.value


@pytest.mark.parametrize(
    ("data", "cls", "pos"),
    [
        # Grammar (RFC 8259) and the json module's leniencies.
        (b"", JSONSyntaxError, 0),
        (b"   ", JSONSyntaxError, 3),
        (b"[1,]", JSONSyntaxError, 3),
        (b'{"a":1,}', JSONSyntaxError, 7),
        (b"[01]", JSONSyntaxError, 2),
        (b"[1.]", JSONSyntaxError, 2),
        (b"[.5]", JSONSyntaxError, 1),
        (b"[+1]", JSONSyntaxError, 1),
        (b"[NaN]", JSONSyntaxError, 1),
        (b"[-Infinity]", JSONSyntaxError, 1),
        (b"Infinity", JSONSyntaxError, 0),
        (b"[1] [2]", JSONSyntaxError, 4),
        (b"[1 2]", JSONSyntaxError, 3),
        (b"/* c */ 1", JSONSyntaxError, 0),
        (b"\x0c1", JSONSyntaxError, 0),  # form feed is not JSON whitespace
        (b'["a\tb"]', JSONSyntaxError, 3),  # raw control character in a string
        (b'["\\x41"]', JSONSyntaxError, 2),
        (b'{"a" 1}', JSONSyntaxError, 5),
        (b"[1}", JSONSyntaxError, 2),
        (b"]", JSONSyntaxError, 0),
        (b'"abc', JSONSyntaxError, 0),
        (b"tru", JSONSyntaxError, 0),
        (b"[truex]", JSONSyntaxError, 5),
        # Encoding.
        (b"\xef\xbb\xbf[]", EncodingError, 0),
        (b'["\xff"]', EncodingError, 2),
        (b'["a\xed\xa0\x80"]', EncodingError, 3),  # an encoded surrogate
        (b'["\xc0\xaf"]', EncodingError, 2),  # overlong
        (b"\xff\xfe[\x00]\x00", EncodingError, 0),  # UTF-16LE with a BOM
        # Duplicate names, also after unescaping.
        (b'{"a":1,"a":2}', DuplicateNameError, 7),
        (b'{"a":1, "\\u0061":2}', DuplicateNameError, 8),
        (b'[{"x":{"a":1,"b":{}}, "y":1, "x":2}]', DuplicateNameError, 29),
        # Forbidden code points, raw and escaped.
        (b'["ab\\ud800"]', ForbiddenCodePointError, 4),
        (b'["\\udc00\\ud800"]', ForbiddenCodePointError, 2),
        (b'["\\ud800\\u0041"]', ForbiddenCodePointError, 2),
        (b'["\\ud83d\\ude00", "\\uFDD0"]', ForbiddenCodePointError, 18),
        (b'["\\\\", "\\uffff"]', ForbiddenCodePointError, 8),
        (b'["\\ud83f\\udffe"]', ForbiddenCodePointError, 2),  # U+1FFFE as a pair
        (b'{"k\\uFFFE":1}', ForbiddenCodePointError, 3),
        ('["é", "\ufdef"]'.encode(), ForbiddenCodePointError, 8),
        ('["\U0010ffff"]'.encode(), ForbiddenCodePointError, 2),
        # Numbers.
        (b"[1e400]", NumberRangeError, 1),
        (b"[-1.5E+309]", NumberRangeError, 1),
        (b'{"n": 9007199254740992}', NumberRangeError, 6),
        (b"[1, -9007199254740992]", NumberRangeError, 4),
        (b"[" + b"1" * 400 + b".0]", NumberRangeError, 1),
        (b"[0.0, " + b"9" * 20 + b"e300]", NumberRangeError, 6),
    ],
)
def test_error_class_and_position(data: bytes, cls: type[CanonicalJSONError], pos: int) -> None:
    err = fails(data)
    assert type(err) is cls
    assert err.pos == pos


def test_positions_for_str_input_count_characters() -> None:
    err = fails('["é😀", "é", {"a":1,"a":2}]')
    assert type(err) is DuplicateNameError
    assert err.pos == 19
    err = fails('["é", 1e999]')
    assert (type(err), err.pos) == (NumberRangeError, 6)
    assert fails('["é", 1e999]'.encode()).pos == 7  # the same problem, in bytes


def test_str_input_surrogates_and_bom() -> None:
    err = fails('["ab\ud800"]')
    assert (type(err), err.pos) == (ForbiddenCodePointError, 4)
    assert type(fails("\ufeff[]")) is EncodingError


def test_first_problem_in_document_order_wins() -> None:
    # A duplicate name at 7 comes before a syntax error at 20, although the C scanner
    # meets the syntax error first (objects are checked when they close).
    err = fails(b'{"a":1,"a":2,"b":[1,,2]}')
    assert (type(err), err.pos) == (DuplicateNameError, 7)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("-0", 0),
        ("-0.0", -0.0),
        ('"x"', "x"),
        ("null", None),
        (" [true, false] ", [True, False]),
        ('{"a":[1,2.5,"\\ud83d\\ude00\\u0000"]}', {"a": [1, 2.5, "😀\x00"]}),
        ("9007199254740991", 9007199254740991),
        ("-9007199254740991", -9007199254740991),
        ("1e308", 1e308),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("123e-10000000", 0.0),  # underflow is accepted
        ("1E+2", 100.0),
        ('"\\u007f\\u2028\\uFDCF\\uFDF0\\uFFFD"', "\x7f\u2028\ufdcf\ufdf0\ufffd"),
        ('["\\\\ud800"]', ["\\ud800"]),  # an escaped backslash, not an escape
    ],
)
def test_accepts(text: str, value: object) -> None:
    assert loads(text) == value
    assert loads(text.encode()) == value
    result = loads(text)
    assert type(result) is type(value)


def test_depth_limit() -> None:
    assert loads("[" * 128 + "]" * 128) is not None
    err = fails("[" * 129 + "]" * 129)
    assert (type(err), err.pos) == (DepthLimitError, 128)
    err = fails('{"a":' * 5 + "1" + "}" * 5, max_depth=4)
    assert (type(err), err.pos) == (DepthLimitError, 20)
    assert loads("1", max_depth=0) == 1
    assert type(fails("[]", max_depth=0)) is DepthLimitError
    # Brackets inside strings do not count.
    assert loads('["' + "[" * 1000 + '"]', max_depth=1) == ["[" * 1000]


def test_size_limit_is_checked_first() -> None:
    err = fails(b"[" * 100, max_bytes=10)
    assert (type(err), err.pos) == (SizeLimitError, 10)
    assert loads(b"[1]", max_bytes=3) == [1]
    err = fails("é" * 6, max_bytes=11)  # 12 bytes; 5 characters fit
    assert (type(err), err.pos) == (SizeLimitError, 5)
    assert type(fails("x" * 10**6, max_bytes=10)) is SizeLimitError


def test_argument_checks() -> None:
    with pytest.raises(TypeError):
        loads(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_depth"):
        loads("1", max_depth=513)
    with pytest.raises(ValueError, match="max_bytes"):
        loads("1", max_bytes=-1)
    assert loads(bytearray(b"[1]")) == [1]
    assert loads(memoryview(b"[1]")) == [1]


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        (b"[" * 100_000 + b"]" * 100_000, DepthLimitError),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, DepthLimitError),
        (b"[[]," * 1_000_000, DepthLimitError),
        (b"[" * 10_000_000, DepthLimitError),
        (b"1" * 100_000, NumberRangeError),
        (b"[" + b"1" * 100_000 + b".5]", NumberRangeError),
        (b"0." + b"0" * 100_000 + b"1", None),
        (b"[1e" + b"9" * 100_000 + b"]", NumberRangeError),
        (b'"' + b'\\"' * 1_000_000, JSONSyntaxError),  # unterminated, many escapes
        (b'"' * 1_000_001, JSONSyntaxError),
        (b"[" + b'"\\ud800",' * 100_000 + b"1]", ForbiddenCodePointError),
        (b"[" + b"1," * 2_000_000 + b"]", JSONSyntaxError),
        (b'{"a":1,' + b'"a":1,' * 500_000 + b'"b":1}', DuplicateNameError),
    ],
)
def test_hostile_input_fails_cleanly(data: bytes, cls: type[CanonicalJSONError] | None) -> None:
    # Past the 1 MiB default limit on purpose: the parser itself must cope (linear work,
    # no recursion error, the documented error). Speed is measured in bench/, not here.
    if cls is None:
        loads(data, max_bytes=HUGE)
    else:
        assert type(fails(data, max_bytes=HUGE)) is cls
    expected = SizeLimitError if len(data) > DEFAULT_MAX_BYTES else cls
    if expected is None:
        loads(data)
    else:
        assert type(fails(data)) is expected


def test_ten_megabytes_of_brackets_in_str() -> None:
    err = fails("[" * 10_000_000, max_bytes=HUGE)
    assert (type(err), err.pos) == (DepthLimitError, 128)


@pytest.mark.parametrize("depth", [1, 3, 16, 17, 128])
def test_depth_limit_is_exact_on_both_sides(depth: int) -> None:
    # Depths up to 16 take the pair-deleting fast path, deeper ones the exact scan.
    doc = ("[" * depth + "]" * depth).encode()
    assert loads(doc, max_depth=depth) is not None
    with pytest.raises(DepthLimitError) as info:
        loads(doc, max_depth=depth - 1)
    assert info.value.pos == depth - 1


def test_depth_limit_in_a_wide_document() -> None:
    deep = b"[" * 20 + b"]" * 20
    doc = b"[" + b",".join([b"[[1]]"] * 1000 + [deep]) + b"]"
    with pytest.raises(DepthLimitError) as info:
        loads(doc, max_depth=20)
    assert info.value.pos == doc.index(deep) + 19
    assert loads(doc, max_depth=21)[-1] is not None  # type: ignore[index]


@pytest.mark.parametrize(
    "doc", [b"[1e3089]", b'{"exp":1e30000}', b"[1e2999]", b"[1E29999]", b"[0.5e+0400]"]
)
def test_long_exponents_overflow_are_refused(doc: bytes) -> None:
    # Regression: the exponent pre-check once read e3089 as e308 (finite) and let the
    # C parser turn the literal into inf.
    with pytest.raises(NumberRangeError):
        loads(doc)


def test_long_exponents_in_range_are_kept() -> None:
    assert loads(b"[1e289, 1e-3089, 1.5e307, 1e0308]") == [1e289, 0.0, 1.5e307, 1e308]
