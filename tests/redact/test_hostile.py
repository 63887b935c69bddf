"""Hostile input: deep nesting, cycles, huge values, objects that raise. Bounded, no crash."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cryptorails.redact import RedactionPolicy

from .helpers import make_jwt

KEY = bytes(range(32))


@pytest.fixture
def policy() -> RedactionPolicy:
    return RedactionPolicy(fingerprint_key=KEY)


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, list | dict) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth


def test_deep_nesting_is_cut_at_max_depth(policy: RedactionPolicy) -> None:
    deep: list[Any] = []
    cur = deep
    for _ in range(100_000):  # far beyond the recursion limit
        nxt: list[Any] = []
        cur.append(nxt)
        cur = nxt
    out = policy.redact(deep)
    assert depth_of(out) == 32
    inner = out
    for _ in range(32):
        inner = inner[0]  # type: ignore[index]
    assert inner == "[REDACTED:too-deep]"
    shallow = RedactionPolicy(max_depth=2).redact({"a": {"b": {"c": 1}}, "d": 1})
    assert shallow == {"a": {"b": "[REDACTED:too-deep]"}, "d": 1}


def test_deep_nesting_called_from_deep_in_the_stack() -> None:
    policy = RedactionPolicy(max_depth=256)
    deep: list[Any] = []
    cur = deep
    for _ in range(1000):
        nxt: list[Any] = []
        cur.append(nxt)
        cur = nxt

    def recurse(n: int) -> object:
        return recurse(n - 1) if n else policy.redact(deep)

    # Close to the recursion limit the walk fails inside; it must mask, not raise.
    out = recurse(sys.getrecursionlimit() - 200)
    assert "[REDACTED:" in repr(out)


def test_a_list_containing_itself(policy: RedactionPolicy) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert policy.redact(loop) == [1, "[REDACTED:cycle]"]
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    assert policy.redact(d) == {"a": 1, "self": "[REDACTED:cycle]"}
    a: list[Any] = []
    b: list[Any] = [a]
    a.append(b)
    assert policy.redact(a) == [["[REDACTED:cycle]"]]


def test_shared_references_are_not_cycles(policy: RedactionPolicy) -> None:
    shared = ["x"]
    assert policy.redact([shared, shared, {"k": shared}]) == [["x"], ["x"], {"k": ["x"]}]


def test_huge_strings_are_cut_at_the_scan_budget() -> None:
    policy = RedactionPolicy(fingerprint_key=KEY, max_scan_chars=10_000)
    jwt = make_jwt()
    head = "a" * 100 + " " + jwt + " "
    text = head + "b" * 50_000 + jwt
    out = policy.redact_text(text)
    assert jwt not in out
    assert out.endswith("[REDACTED:unscanned]")
    assert len(out) < 10_100
    # The budget is per call, across every string of a structure.
    many = policy.redact(["c" * 6000, "d" * 6000, "e" * 10])
    assert many == ["c" * 6000, "d" * 4000 + "[REDACTED:unscanned]", "[REDACTED:unscanned]"]


def test_huge_bytes_are_cut_too() -> None:
    policy = RedactionPolicy(max_scan_chars=100)
    out = policy.redact(b"z" * 1000)
    assert out == b"z" * 100 + b"[REDACTED:unscanned]"


def test_default_budget_handles_megabytes(policy: RedactionPolicy) -> None:
    jwt = make_jwt()
    text = ("log line " * 200_000) + jwt  # ~1.8 MB
    out = policy.redact_text(text)
    assert jwt not in out
    assert out.endswith("]")


def test_wide_containers_are_truncated_at_max_nodes() -> None:
    policy = RedactionPolicy(max_nodes=100)
    out = policy.redact(list(range(100_000)))
    assert isinstance(out, list)
    assert out[-1] == "[REDACTED:truncated]"
    assert out[:-1] == list(range(len(out) - 1))
    assert len(out) <= 101
    wide = policy.redact({f"k{i}": i for i in range(1000)})
    assert isinstance(wide, dict)
    assert wide["[REDACTED:truncated]"] == "[REDACTED:truncated]"
    assert len(wide) <= 101


def test_objects_whose_repr_or_str_raise(policy: RedactionPolicy) -> None:
    class Bad:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

        def __str__(self) -> str:
            raise RuntimeError("boom")

    assert policy.redact({"x": Bad(), "y": 1}) == {"x": "[REDACTED:unrepresentable]", "y": 1}
    # The logging mode keeps objects (their text is redacted after formatting).
    bad = Bad()
    assert policy._redact_keep_objects([bad]) == [bad]


def test_mappings_and_sequences_that_raise(policy: RedactionPolicy) -> None:
    class BadMapping(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise KeyError(key)

        def __iter__(self) -> Iterator[str]:
            yield "password"
            raise RuntimeError("broken iterator")

        def __len__(self) -> int:
            return 1

    class BadList(list[Any]):
        def __iter__(self) -> Iterator[Any]:
            raise RuntimeError("nope")

    assert policy.redact({"m": BadMapping(), "l": BadList([1]), "ok": 2}) == {
        "m": "[REDACTED:unreadable]",
        "l": "[REDACTED:unreadable]",
        "ok": 2,
    }


def test_huge_int_under_a_denied_name(policy: RedactionPolicy) -> None:
    big = 10**5000  # beyond str()'s default digit limit
    assert policy.redact({"pin": big}) == {"pin": "[REDACTED:name]"}
    assert policy.redact({"n": big}) == {"n": big}


def test_surrogates_and_odd_text(policy: RedactionPolicy) -> None:
    jwt = make_jwt()
    text = "\ud800 lone surrogate é " + jwt + " \x00"
    out = policy.redact_text(text)
    assert jwt not in out
    assert out.startswith("\ud800 lone surrogate é [REDACTED:jwt:")
    assert out.endswith("] \x00")
