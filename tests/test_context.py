"""`Context`: validated, frozen, and encoded without ambiguity."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptorails.context import Context

labels = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=40,
)


def test_frozen_and_hashable() -> None:
    ctx = Context("acme", "user-email")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.tenant = "other"  # type: ignore[misc]
    assert ctx == Context("acme", "user-email")
    assert hash(ctx) == hash(Context("acme", "user-email"))
    assert ctx != Context("acme", "user-phone")
    assert {ctx: 1}[Context("acme", "user-email")] == 1


@pytest.mark.parametrize(
    ("tenant", "purpose", "message"),
    [
        ("", "p", "tenant must not be empty"),
        ("t", "", "purpose must not be empty"),
        ("a\nb", "p", "forbidden character U\\+000A"),
        ("t", "p\x00", "forbidden character U\\+0000"),
        ("evil\u202egnp", "p", "forbidden character U\\+202E"),  # bidi override
        ("ac\u200bme", "p", "forbidden character U\\+200B"),  # zero-width space
        ("a\u2028b", "p", "forbidden character U\\+2028"),
        ("t" * 257, "p", "longer than 256 UTF-8 bytes"),
        ("é" * 129, "p", "longer than 256 UTF-8 bytes"),
    ],
)
def test_rejects_bad_labels(tenant: str, purpose: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Context(tenant, purpose)


def test_accepts_bounded_unicode() -> None:
    assert Context("t" * 256, "p").tenant == "t" * 256
    assert Context("é" * 128, "Ünïcode purpose").purpose == "Ünïcode purpose"


@pytest.mark.parametrize("bad", [None, 1, b"acme"])
def test_rejects_non_str(bad: object) -> None:
    with pytest.raises(TypeError, match="tenant must be a str"):
        Context(bad, "p")  # type: ignore[arg-type]


def test_encoding_binds_environment() -> None:
    ctx = Context("acme", "email")
    assert ctx.encode("prod") != ctx.encode("staging")
    with pytest.raises(ValueError, match="environment must not be empty"):
        ctx.encode("")


@given(labels, labels, labels, labels, labels, labels)
def test_encoding_is_injective(t1: str, p1: str, e1: str, t2: str, p2: str, e2: str) -> None:
    same_encoding = Context(t1, p1).encode(e1) == Context(t2, p2).encode(e2)
    assert same_encoding == ((t1, p1, e1) == (t2, p2, e2))


def test_no_ambiguity_between_field_splits() -> None:
    assert Context("ab", "c").encode("e") != Context("a", "bc").encode("e")
    assert Context("a", "b").encode("ec") != Context("a", "be").encode("c")
