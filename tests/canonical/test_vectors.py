"""Conformance: RFC 8785 vectors, ECMAScript number forms, JSONTestSuite strictness."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from cryptorails.canonical import (
    CanonicalJSONError,
    UnsupportedValueError,
    dumps,
    is_canonical,
    loads,
)
from cryptorails.canonical._numbers import es_float
from cryptorails.canonical._scan import first_error

VECTORS = Path(__file__).parent.parent / "vectors"
JCS = VECTORS / "jcs"
SUITE = VECTORS / "jsontestsuite"
EXPECTED: dict[str, str] = json.loads((SUITE / "strict-expectations.json").read_text())["expected"]
JCS_NAMES = sorted(path.name for path in (JCS / "input").iterdir())


def test_vector_counts() -> None:
    assert JCS_NAMES == [
        "arrays.json",
        "french.json",
        "structures.json",
        "unicode.json",
        "values.json",
        "weird.json",
    ]
    assert sorted(path.name for path in (SUITE / "test_parsing").iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) == 318


@pytest.mark.parametrize("name", JCS_NAMES)
def test_jcs_files(name: str) -> None:
    expected = (JCS / "output" / name).read_bytes()
    value = loads((JCS / "input" / name).read_bytes())
    assert dumps(value) == expected
    assert is_canonical(expected)
    assert loads(expected) == value


def test_es6_numbers() -> None:
    lines = (JCS / "es6-numbers-100k.txt").read_text().splitlines()
    assert len(lines) == 99_989
    failures = []
    for line in lines:
        bits, expected = line.split(",")
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        if es_float(value) != expected:
            failures.append((bits, expected, es_float(value)))
    assert failures == []


# Lines of es6-numbers-100k.txt whose value is integral in (2**53 - 1, 1e21).
UNSAFE_INTEGRAL_LINES = 193


def test_es6_numbers_through_dumps() -> None:
    # dumps takes other routes than es_float for most floats (ints, placeholders, repr),
    # so check the whole file through it too, in arrays to exercise the fast path. It
    # refuses the integral values from 2**53 up to 1e21 (their RFC 8785 form is an
    # integer literal outside I-JSON's range): those lines are checked to be refused.
    lines = (JCS / "es6-numbers-100k.txt").read_text().splitlines()
    values = [struct.unpack(">d", bytes.fromhex(line[:16]))[0] for line in lines]
    unsafe = [i for i, v in enumerate(values) if 2**53 - 1 < abs(v) < 1e21]
    assert len(unsafe) == UNSAFE_INTEGRAL_LINES
    kept = sorted(set(range(len(lines))) - set(unsafe))
    expected = "[" + ",".join(lines[i][17:] for i in kept) + "]"
    assert dumps([values[i] for i in kept]) == expected.encode()
    for i in unsafe[:200]:
        with pytest.raises(UnsupportedValueError, match="integer outside"):
            dumps([values[i]])


def _error(data: bytes) -> CanonicalJSONError | None:
    try:
        loads(data)
    except CanonicalJSONError as exc:
        return exc
    return None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_jsontestsuite(name: str) -> None:
    data = (SUITE / "test_parsing" / name).read_bytes()
    outcome = EXPECTED[name]
    error = _error(data)
    accepted = error is None
    if error is not None:
        assert error.pos is not None
        assert 0 <= error.pos <= len(data)
    if outcome != "either":
        assert accepted == (outcome == "accept")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validator_agrees(name: str) -> None:
    """The exact validator, run on its own, reaches the same verdict as loads."""
    data = (SUITE / "test_parsing" / name).read_bytes()
    try:
        loads(data)
    except CanonicalJSONError:
        accepted = False
    else:
        accepted = True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        assert not accepted
        return
    if accepted:
        assert first_error(text, 128) is None
