"""The store contract: every backend behaves the same (memory, SQLite, Redis, PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from cryptorails.stores import Store

TTL = timedelta(milliseconds=300)
LONG = timedelta(minutes=5)


def test_is_a_store(store_backend) -> None:  # type: ignore[no-untyped-def]
    with store_backend.open() as store:
        assert isinstance(store, Store)
        assert store.namespace == store_backend.namespace


def test_claim_once(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.claim("k", b"first", LONG) is True
    assert store.claim("k", b"second", LONG) is False
    assert store.get("k") == b"first"


def test_get_absent(store_backend) -> None:  # type: ignore[no-untyped-def]
    assert store_backend.open().get("missing") is None


def test_values_are_arbitrary_bytes(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    value = bytes(range(256)) * 4
    assert store.claim("bin", value, LONG)
    assert store.get("bin") == value
    assert store.claim("empty", b"", LONG)
    assert store.get("empty") == b""
    assert store.claim("empty", b"x", LONG) is False  # an empty value is still present


def test_keys_are_arbitrary_text(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    keys = ["a:b", "a", "*", "ключ", "x' OR '1'='1", "k" * 512, "%s", "?"]
    for i, key in enumerate(keys):
        assert store.claim(key, str(i).encode(), LONG)
    for i, key in enumerate(keys):
        assert store.get(key) == str(i).encode()


def test_claim_expires(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.claim("k", b"1", TTL)
    store_backend.expire(TTL.total_seconds())
    assert store.get("k") is None
    assert store.delete("k") is False
    assert store.claim("k", b"2", LONG) is True
    assert store.get("k") == b"2"


def test_compare_and_set(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.compare_and_set("k", b"x", b"y", None) is False  # absent is not b"x"
    assert store.get("k") is None
    assert store.compare_and_set("k", None, None, None) is True  # absent, stays absent
    assert store.compare_and_set("k", None, b"a", LONG) is True
    assert store.compare_and_set("k", None, b"b", LONG) is False
    assert store.compare_and_set("k", None, None, None) is False
    assert store.compare_and_set("k", b"wrong", b"b", LONG) is False
    assert store.get("k") == b"a"
    assert store.compare_and_set("k", b"a", b"b", None) is True
    assert store.get("k") == b"b"
    assert store.compare_and_set("k", b"a", None, None) is False
    assert store.compare_and_set("k", b"b", None, None) is True
    assert store.get("k") is None


def test_compare_and_set_ttl(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.compare_and_set("k", None, b"a", None)  # no TTL: never expires
    assert store.compare_and_set("k", b"a", b"b", TTL)
    assert store.compare_and_set("p", None, b"p", None)
    store_backend.expire(TTL.total_seconds())
    assert store.get("k") is None
    assert store.get("p") == b"p"
    assert store.compare_and_set("k", b"b", b"c", None) is False  # expired is absent
    assert store.compare_and_set("k", None, b"c", LONG) is True
    assert store.compare_and_set("p", b"p", b"q", TTL)  # a TTL can be put on it
    store_backend.expire(TTL.total_seconds())
    assert store.get("p") is None


def test_add(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.add("n", 5, None) == 5
    assert store.add("n", -7, None) == -2
    assert store.add("n", 0, None) == -2
    assert store.get("n") == b"-2"
    assert store.add("n", 2**63 - 1, None) == 2**63 - 3
    with pytest.raises(ValueError, match=r"64-bit|overflow"):
        store.add("n", 3, None)  # beyond int64
    assert store.get("n") == str(2**63 - 3).encode()
    assert store.claim("text", b"abc", LONG)
    with pytest.raises(ValueError, match="not a counter"):
        store.add("text", 1, None)
    assert store.get("text") == b"abc"


def test_add_ttl_applies_on_creation(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.add("n", 1, TTL) == 1
    assert store.add("n", 1, LONG) == 2  # keeps the first expiry
    store_backend.expire(TTL.total_seconds())
    assert store.get("n") is None
    assert store.add("n", 1, None) == 1  # an expired counter starts again from zero
    store_backend.expire(TTL.total_seconds())
    assert store.get("n") == b"1"


def test_delete(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.delete("k") is False
    store.claim("k", b"v", LONG)
    assert store.delete("k") is True
    assert store.get("k") is None
    assert store.delete("k") is False
    assert store.claim("k", b"w", LONG) is True


def test_namespaces_are_separate(store_backend) -> None:  # type: ignore[no-untyped-def]
    a = store_backend.open()
    b = store_backend.open(store_backend.namespace + "x")
    assert a.claim("k", b"a", LONG)
    assert b.claim("k", b"b", LONG)
    assert a.get("k") == b"a"
    assert b.get("k") == b"b"
    assert a.add("n", 1, None) == 1
    assert b.add("n", 5, None) == 5
    assert a.delete("k")
    assert b.get("k") == b"b"


def test_same_namespace_is_shared(store_backend) -> None:  # type: ignore[no-untyped-def]
    a, b = store_backend.open(), store_backend.open()
    assert a.claim("k", b"a", LONG)
    assert b.claim("k", b"b", LONG) is False
    assert b.get("k") == b"a"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.claim(b"k", b"v", LONG), TypeError),
        (lambda s: s.claim("", b"v", LONG), ValueError),
        (lambda s: s.claim("k" * 513, b"v", LONG), ValueError),
        (lambda s: s.claim("a\x00b", b"v", LONG), ValueError),
        (lambda s: s.claim("a\nb", b"v", LONG), ValueError),
        (lambda s: s.claim("\ud800", b"v", LONG), ValueError),
        (lambda s: s.claim("k", "v", LONG), TypeError),
        (lambda s: s.claim("k", bytearray(b"v"), LONG), TypeError),
        (lambda s: s.claim("k", b"v", 5), TypeError),
        (lambda s: s.claim("k", b"v", None), TypeError),
        (lambda s: s.claim("k", b"v", timedelta(0)), ValueError),
        (lambda s: s.claim("k", b"v", timedelta(seconds=-1)), ValueError),
        (lambda s: s.claim("k", b"v", timedelta(days=40000)), ValueError),
        (lambda s: s.compare_and_set("k", "x", b"v", None), TypeError),
        (lambda s: s.compare_and_set("k", None, "v", None), TypeError),
        (lambda s: s.add("k", 1.0, None), TypeError),
        (lambda s: s.add("k", True, None), TypeError),
        (lambda s: s.add("k", 2**63, None), ValueError),
        (lambda s: s.get(None), TypeError),
        (lambda s: s.delete(""), ValueError),
    ],
)
def test_bad_arguments(store_backend, call, error) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    with pytest.raises(error):
        call(store)
    assert store.get("k") is None  # nothing was written


def test_concurrent_claims_have_one_winner(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    winners: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(40):
            if store.claim(f"k{i}", str(n).encode(), LONG):
                with lock:
                    winners[f"k{i}"] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == Counter({f"k{i}": 1 for i in range(40)})


def test_concurrent_adds_lose_nothing(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            store.add("n", 1, LONG)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("n") == b"400"


def test_concurrent_compare_and_set_increments(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    store.claim("n", b"0", LONG)
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        done = 0
        while done < 20:
            current = store.get("n")
            assert current is not None
            if store.compare_and_set("n", current, str(int(current) + 1).encode(), LONG):
                done += 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("n") == b"120"


def test_close_and_context_manager(store_backend) -> None:  # type: ignore[no-untyped-def]
    with store_backend.open() as store:
        assert store.claim("k", b"v", LONG)
    with store_backend.open() as again:
        assert again.get("k") == b"v"


@pytest.mark.parametrize(
    "value",
    [
        b"007",
        b"00",
        b" 12",
        b"12 ",
        b"12\n",
        b"+5",
        b"-0",
        b"--1",
        b"-",
        b"",
        b"1_000",
        b"0x1f",
        b"1e3",
        b"1.0",
        b"\xd9\xa1",  # ARABIC-INDIC DIGIT ONE: int() of text would take it
        b"1\x00",
        b"9223372036854775808",  # int64 max + 1
        b"-9223372036854775809",  # int64 min - 1
        b"10000000000000000000",  # 20 digits
    ],
)
def test_add_refuses_non_canonical_counters(store_backend, value) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.claim("n", value, LONG)
    with pytest.raises(ValueError, match=r"^the value at this key is not a counter$"):
        store.add("n", 1, None)
    with pytest.raises(ValueError, match=r"^the value at this key is not a counter$"):
        store.add("n", 0, None)
    assert store.get("n") == value  # untouched


@pytest.mark.parametrize(
    ("value", "amount", "total"),
    [
        (b"0", 0, 0),
        (b"0", -1, -1),
        (b"-1", 1, 0),
        (b"42", -50, -8),
        (b"9223372036854775807", 0, 2**63 - 1),
        (b"-9223372036854775808", 0, -(2**63)),
        (b"-9223372036854775808", 2**63 - 1, -1),
    ],
)
def test_add_accepts_canonical_counters(store_backend, value, amount, total) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.claim("n", value, LONG)
    assert store.add("n", amount, None) == total
    assert store.get("n") == str(total).encode()


@pytest.mark.parametrize(("value", "amount"), [(b"9223372036854775807", 1), (b"-2", -(2**63))])
def test_add_overflow_is_reported_as_such(store_backend, value, amount) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    assert store.claim("n", value, LONG)
    with pytest.raises(ValueError, match=r"^counter would leave the signed 64-bit range$"):
        store.add("n", amount, None)
    assert store.get("n") == value


def test_use_after_close_is_store_unavailable(store_backend) -> None:  # type: ignore[no-untyped-def]
    from cryptorails.errors import StoreUnavailable

    store = store_backend.open()
    assert store.claim("k", b"v", LONG)
    store.close()
    store.close()  # closing twice is harmless
    for call in (
        lambda: store.claim("k2", b"v", LONG),
        lambda: store.get("k"),
        lambda: store.compare_and_set("k", b"v", b"w", LONG),
        lambda: store.add("n", 1, None),
        lambda: store.delete("k"),
    ):
        with pytest.raises(StoreUnavailable, match="is closed"):
            call()
    with store_backend.open() as again:  # the data is still there for other store objects
        assert again.get("k") == b"v"
        assert again.get("k2") is None
        assert again.get("n") is None
