"""Properties: round trips, canonical output, and both fast paths against their references."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from cryptorails.canonical import CanonicalJSONError, dumps, is_canonical, loads
from cryptorails.canonical._dumps import _Exact
from cryptorails.canonical._scan import FORBIDDEN_CHAR, first_error

SAFE = 2**53 - 1

# Text I-JSON allows: no surrogates, no noncharacters; bias towards the tricky ranges.
text = st.text(
    st.characters(blacklist_categories=["Cs"]).filter(lambda c: not FORBIDDEN_CHAR.match(c))
    | st.sampled_from(["\x00", "\x1f", '"', "\\", "\x7f", "\u2028", "\ue000", "\U0001f600"])
)
# Floats whose canonical form parses back: not integral in [2**53, 1e21) (see
# test_dumps.test_large_integral_floats_do_not_round_trip).
floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (2.0**53 <= abs(f) < 1e21)
)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | floats | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)
exact_values = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE, SAFE) | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400)
@given(values)
def test_dumps_is_idempotent_and_canonical(value: object) -> None:
    encoded = dumps(value)
    assert dumps(loads(encoded)) == encoded
    assert is_canonical(encoded)


@settings(max_examples=300)
@given(exact_values)
def test_round_trip(value: object) -> None:
    assert loads(dumps(value)) == value


@settings(max_examples=400)
@given(values)
def test_fast_path_matches_reference_encoder(value: object) -> None:
    assert dumps(value) == "".join(_Exact().encode(value, (), 0)).encode()


@settings(max_examples=300)
@given(values)
def test_loads_reads_what_json_reads(value: object) -> None:
    encoded = dumps(value)
    assert loads(encoded) == json.loads(encoded)


tokens = st.sampled_from(
    ["[", "]", "{", "}", ",", ":", '"a"', '"\\u0061"', '"\\ud800"', '"\\uffff"', "1", "-0",
     "1e400", "9007199254740992", "1.5", "true", "null", "NaN", " ", '"x', "\\", "01"]
)  # fmt: skip


@settings(max_examples=1500)
@given(st.lists(tokens, max_size=12).map("".join))
def test_loads_agrees_with_the_validator(document: str) -> None:
    """On token soup, loads fails exactly when the validator finds a problem, with the
    validator's class and position."""
    expected = first_error(document, 4)
    found: CanonicalJSONError | None = None
    try:
        loads(document, max_depth=4)
    except CanonicalJSONError as exc:
        found = exc
    if expected is None or found is None:
        assert found is expected is None
    else:
        assert (type(found), found.pos) == (type(expected), expected.pos)
