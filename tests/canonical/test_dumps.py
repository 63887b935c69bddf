"""dumps: RFC 8785 output, refusals with paths, and the fast path against the reference."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import pytest

from cryptorails.canonical import UnsupportedValueError, dumps, is_canonical, loads
from cryptorails.canonical._dumps import _Exact


def exact(value: object) -> bytes:
    return "".join(_Exact().encode(value, (), 0)).encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.0, "0"),
        (1e21, "1e+21"),
        (1e22, "1e+22"),
        ([1e22, -3e300], "[1e+22,-3e+300]"),
        ({"a": 1e22}, '{"a":1e+22}'),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (1e-5, "0.00001"),
        (1.5e-9, "1.5e-9"),
        (1e-10, "1e-10"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740991, "9007199254740991"),
        (-9007199254740991, "-9007199254740991"),
        (True, "true"),
        (None, "null"),
        ((1, (2,)), "[1,[2]]"),
        ("\x00\x08\t\n\x0b\x0c\r\x1f", '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f"'),
        ('"\\/\x7f\u2028\u2029é😀', '"\\"\\\\/\x7f\u2028\u2029é😀"'),
        ({"b": [], "a": {}, "": 0}, '{"":0,"a":{},"b":[]}'),
    ],
)
def test_output(value: object, text: str) -> None:
    assert dumps(value) == text.encode()
    assert exact(value) == text.encode()


def test_names_sort_by_utf16_code_units() -> None:
    # In code points U+E000 < U+1F600; in UTF-16 the surrogate D83D sorts first.
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3, "\uff61": 4}
    expected = '{"a":3,"\U0001f600":2,"\ue000":1,"\uff61":4}'.encode()
    assert dumps(value) == expected
    assert list(sorted(value)) != ["a", "\U0001f600", "\ue000", "\uff61"]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({1: "a"}, ()),
        ({"a": {None: 1}}, ("a",)),
        ([1, math.nan], (1,)),
        ({"x": [math.inf]}, ("x", 0)),
        ([-math.inf], (0,)),
        ([2**53], (0,)),
        ({"n": -(2**53)}, ("n",)),
        (["ok", "\ud800"], (1,)),
        ({"\udfff": 1}, ("\udfff",)),
        (["\ufffe"], (0,)),
        ([{"a": b"bytes"}], (0, "a")),
        ([OrderedDict(a=1)], (0,)),
        ([{1, 2}], (0,)),
        ([1.5j], (0,)),
        (object(), ()),
    ],
)
def test_refusals(value: object, path: tuple[Any, ...]) -> None:
    with pytest.raises(UnsupportedValueError) as info:
        dumps(value)
    assert info.value.path == path
    assert info.value.pos is None


def test_subclasses_are_refused() -> None:
    class Name(str):
        pass

    class Number(int):
        pass

    for value in ([Name("x")], {Name("x"): 1}, [Number(1)], [type("L", (list,), {})()]):
        with pytest.raises(UnsupportedValueError):
            dumps(value)


def test_circular_and_deep() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(UnsupportedValueError, match="circular"):
        dumps(loop)
    deep: list[object] = []
    for _ in range(600):
        deep = [deep]
    with pytest.raises(UnsupportedValueError, match="nesting"):
        dumps(deep)
    shared = [1.5e-5]
    assert dumps([shared, shared, {"s": shared}]) == b'[[0.000015],[0.000015],{"s":[0.000015]}]'


def test_placeholder_collision_falls_back() -> None:
    # A user string that happens to contain digits is left alone.
    value = [1e-5, "10000000000000000000000000000", {"k": 2e-6}]
    assert dumps(value) == b'[0.00001,"10000000000000000000000000000",{"k":0.000002}]'


def test_input_is_not_modified() -> None:
    value = {"a": [1.0, 1e-5, (2.0,)], "b": 1e22}
    before = repr(value)
    dumps(value)
    assert repr(value) == before


def test_is_canonical() -> None:
    assert is_canonical(b'{"a":1,"b":[true,null]}')
    assert not is_canonical(b'{"b":1,"a":2}')
    assert not is_canonical(b'{"a": 1}')
    assert not is_canonical(b"1.0")
    assert not is_canonical(b'"\\u0041"')
    assert not is_canonical(b'{"a":1,"a":1}')
    assert not is_canonical(b"\xff")
    assert not is_canonical("1")  # type: ignore[arg-type]
    assert is_canonical(dumps({"z": [1e-7, 0.5, "\u2028"]}))


@pytest.mark.parametrize("value", [1e20, -1.2345678901234568e20, 2.0**53, 1e16, 9.99e20])
def test_floats_with_an_unsafe_integer_form_are_refused(value: float) -> None:
    # RFC 8785 would print these as integer literals beyond 2**53 - 1, which strict I-JSON
    # parsing refuses (RFC 7493 §2.2): signing such a payload could never verify.
    with pytest.raises(UnsupportedValueError, match="integer outside"):
        dumps({"n": [value]})


def test_floats_at_the_edges_of_the_unsafe_range_round_trip() -> None:
    value = [1e21, 2.0**53 - 1, -(2.0**53 - 1), 1.5e21]
    assert dumps(value) == b"[1e+21,9007199254740991,-9007199254740991,1.5e+21]"
    assert loads(dumps(value)) == value
    assert is_canonical(dumps(value))
