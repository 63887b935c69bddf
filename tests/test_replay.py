"""ReplayGuard and Idempotency on every store backend (memory, SQLite, Redis, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import cryptorails
from cryptorails.clock import Window
from cryptorails.errors import (
    CryptoRailsError,
    IdempotencyError,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    Reason,
    VerificationError,
)
from cryptorails.replay import Idempotency, ReplayGuard
from cryptorails.testing import FixedClock, MemoryStore

WINDOW = Window(timedelta(minutes=5))


def _reason(call) -> Reason:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError) as e:
        call()
    assert str(e.value) == "verification failed"
    return e.value.reason


def _guard(store_backend, window: Window = WINDOW) -> tuple[ReplayGuard, FixedClock]:  # type: ignore[no-untyped-def]
    clock = store_backend.clock or FixedClock()
    return ReplayGuard(store_backend.open(), window, clock=clock), clock


def test_accepts_once_then_replay(store_backend) -> None:  # type: ignore[no-untyped-def]
    guard, clock = _guard(store_backend)
    now = clock.now()
    guard.check("sender", "msg-1", now)
    assert _reason(lambda: guard.check("sender", "msg-1", now)) is Reason.REPLAY
    # Another instance of the service (another store object) sees the same record.
    other = ReplayGuard(store_backend.open(), WINDOW, clock=clock)
    assert _reason(lambda: other.check("sender", "msg-1", now)) is Reason.REPLAY
    # Even with another timestamp inside the window: the id is what is deduplicated.
    assert _reason(lambda: other.check("sender", "msg-1", now - timedelta(minutes=1))) is (
        Reason.REPLAY
    )
    guard.check("sender", "msg-2", now)
    guard.check("other-sender", "msg-1", now)  # namespaces do not collide


def test_stale_and_future_are_refused_without_claiming(store_backend) -> None:  # type: ignore[no-untyped-def]
    guard, clock = _guard(store_backend)
    now = clock.now()
    old = now - timedelta(minutes=5, seconds=1)
    ahead = now + timedelta(minutes=5, seconds=1)
    assert _reason(lambda: guard.check("s", "m", old)) is Reason.STALE
    assert _reason(lambda: guard.check("s", "m", ahead)) is Reason.FUTURE
    guard.check("s", "m", now)  # the refusals did not burn the id


def test_record_outlives_the_window(store_backend) -> None:  # type: ignore[no-untyped-def]
    window = Window(timedelta(milliseconds=150))
    guard, clock = _guard(store_backend, window)
    stamp = clock.now() + window.future  # the latest acceptable stamp
    guard.check("s", "m", stamp)
    # Time passes until the same stamp is the oldest acceptable one.
    if clock is store_backend.clock:
        clock.advance(window.span)  # the store's clock too
    else:
        store_backend.expire(window.span.total_seconds())  # the server's clock
        clock.advance(window.span)
    assert clock.now() - window.past == stamp
    assert _reason(lambda: guard.check("s", "m", stamp)) is Reason.REPLAY


def test_ids_of_any_shape(store_backend) -> None:  # type: ignore[no-untyped-def]
    guard, clock = _guard(store_backend)
    for message_id in ["a:b*c", "x" * 100_000, "\x00\n\ud800", "ключ", "%s' --"]:
        guard.check("s", message_id, clock.now())
        assert _reason(lambda m=message_id: guard.check("s", m, clock.now())) is Reason.REPLAY
    # Length-prefixed hashing: ("ab", "c") and ("a", "bc") are different messages.
    guard.check("ab", "c", clock.now())
    guard.check("a", "bc", clock.now())


def test_replay_guard_bad_input(store_backend) -> None:  # type: ignore[no-untyped-def]
    guard, clock = _guard(store_backend)
    assert _reason(lambda: guard.check("s", "", clock.now())) is Reason.MALFORMED
    with pytest.raises(TypeError):
        guard.check("s", "m", datetime(2030, 1, 1))
    with pytest.raises(TypeError):
        guard.check("s", b"m", clock.now())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        guard.check(None, "m", clock.now())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="namespace"):
        guard.check("", "m", clock.now())
    guard.check("s", "m", clock.now())  # none of the above claimed anything
    with pytest.raises(TypeError):
        ReplayGuard(object(), WINDOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ReplayGuard(store_backend.open(), timedelta(minutes=5))  # type: ignore[arg-type]


def test_replay_guard_uses_system_clock_by_default() -> None:
    guard = ReplayGuard(MemoryStore(), WINDOW)
    guard.check("s", "m", datetime.now(UTC))
    with pytest.raises(VerificationError):
        guard.check("s", "m2", datetime(2000, 1, 1, tzinfo=UTC))


# Idempotency -------------------------------------------------------------------------


class Calls:
    def __init__(self, result: bytes = b"result") -> None:
        self.count = 0
        self.result = result

    def __call__(self) -> bytes:
        self.count += 1
        return self.result


def test_errors_are_pinned() -> None:
    for cls in (IdempotencyInFlight, IdempotencyKeyReused):
        assert issubclass(cls, IdempotencyError)
        assert not issubclass(cls, VerificationError)
    assert issubclass(IdempotencyError, CryptoRailsError)
    assert issubclass(cryptorails.StoreUnavailable, CryptoRailsError)
    for name in ("Idempotency", "ReplayGuard", "Window", "IdempotencyInFlight", "open_store"):
        assert name in cryptorails.__all__


def test_runs_once_and_replays_the_result(store_backend) -> None:  # type: ignore[no-untyped-def]
    a = Idempotency(store_backend.open())
    b = Idempotency(store_backend.open())  # another host
    fn = Calls(b"\x00bytes\xff")
    assert a.run("key-1", b"fp", fn) == b"\x00bytes\xff"
    assert b.run("key-1", b"fp", fn) == b"\x00bytes\xff"
    assert a.run("key-1", b"fp", Calls(b"other")) == b"\x00bytes\xff"
    assert fn.count == 1
    assert a.run("key-2", b"fp", Calls(b"two")) == b"two"
    assert a.run("k" * 10_000, b"", Calls(b"")) == b""  # long keys are hashed; empty results


def test_key_reused_with_another_fingerprint(store_backend) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(store_backend.open())
    idem.run("k", b"fp-1", Calls())
    fn = Calls()
    with pytest.raises(IdempotencyKeyReused):
        idem.run("k", b"fp-2", fn)
    assert fn.count == 0


def test_in_flight(store_backend) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(store_backend.open())
    other = Idempotency(store_backend.open())
    seen: list[type[Exception]] = []

    def first() -> bytes:
        for fp in (b"fp", b"another"):
            try:
                other.run("k", fp, Calls())
            except IdempotencyError as e:
                seen.append(type(e))
        return b"first"

    assert idem.run("k", b"fp", first) == b"first"
    assert seen == [IdempotencyInFlight, IdempotencyKeyReused]
    assert other.run("k", b"fp", Calls()) == b"first"


def test_failure_releases_the_key(store_backend) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(store_backend.open())

    def boom() -> bytes:
        raise RuntimeError("downstream failed")

    with pytest.raises(RuntimeError, match="downstream failed"):
        idem.run("k", b"fp", boom)
    with pytest.raises(TypeError, match="must return bytes"):
        idem.run("k", b"fp", lambda: "text")  # type: ignore[arg-type,return-value]
    fn = Calls(b"retried")
    assert idem.run("k", b"fp", fn) == b"retried"
    assert fn.count == 1


def test_dead_worker_loses_its_lease(store_backend) -> None:  # type: ignore[no-untyped-def]
    lease = timedelta(milliseconds=300)
    late = Idempotency(store_backend.open(), lease=lease)
    taker = Idempotency(store_backend.open(), lease=lease)
    taker_fn = Calls(b"taker")

    def slow() -> bytes:
        store_backend.expire(lease.total_seconds())  # this worker "hangs" past its lease
        assert taker.run("k", b"fp", taker_fn) == b"taker"  # another worker takes over
        return b"late"

    assert late.run("k", b"fp", slow) == b"late"  # the late worker still gets its own result
    assert taker_fn.count == 1
    # ... but cannot overwrite the taker's stored result.
    assert late.run("k", b"fp", Calls(b"again")) == b"taker"


def test_result_kept_if_lease_expired_without_taker(store_backend) -> None:  # type: ignore[no-untyped-def]
    lease = timedelta(milliseconds=300)
    idem = Idempotency(store_backend.open(), lease=lease)

    def slow() -> bytes:
        store_backend.expire(lease.total_seconds())
        return b"slow"

    assert idem.run("k", b"fp", slow) == b"slow"
    fn = Calls()
    assert idem.run("k", b"fp", fn) == b"slow"
    assert fn.count == 0


def test_results_expire_after_ttl(store_backend) -> None:  # type: ignore[no-untyped-def]
    ttl = timedelta(milliseconds=300)
    idem = Idempotency(store_backend.open(), ttl=ttl)
    idem.run("k", b"fp", Calls(b"one"))
    store_backend.expire(ttl.total_seconds())
    assert idem.run("k", b"other fp", Calls(b"two")) == b"two"


def test_idempotency_bad_arguments(store_backend) -> None:  # type: ignore[no-untyped-def]
    store = store_backend.open()
    idem = Idempotency(store)
    with pytest.raises(TypeError):
        idem.run("", b"fp", Calls())
    with pytest.raises(TypeError):
        idem.run(b"k", b"fp", Calls())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        idem.run("k", "fp", Calls())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        idem.run("k", b"fp", b"not callable")  # type: ignore[arg-type]
    for kwargs in ({"ttl": timedelta(0)}, {"lease": timedelta(seconds=-1)}):
        with pytest.raises(ValueError, match="must be positive"):
            Idempotency(store, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Idempotency(store, lease=30)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Idempotency(object())  # type: ignore[arg-type]


def test_too_large_result_releases_the_key(store_backend) -> None:  # type: ignore[no-untyped-def]
    from cryptorails.replay import MAX_RESULT_SIZE
    from cryptorails.stores._base import MAX_VALUE_SIZE

    assert MAX_RESULT_SIZE == MAX_VALUE_SIZE - 34  # version, kind, fingerprint hash
    idem = Idempotency(store_backend.open())
    huge = Calls(b"x" * (MAX_RESULT_SIZE + 1))
    with pytest.raises(ValueError, match=r"larger than \d+ bytes .* key was released"):
        idem.run("k", b"fp", huge)
    assert huge.count == 1
    fn = Calls(b"small")
    assert idem.run("k", b"fp", fn) == b"small"  # not IdempotencyInFlight: released
    assert fn.count == 1


def test_largest_result_is_stored() -> None:
    from cryptorails.replay import MAX_RESULT_SIZE

    idem = Idempotency(MemoryStore())
    result = b"y" * MAX_RESULT_SIZE
    assert idem.run("k", b"fp", Calls(result)) == result
    fn = Calls()
    assert idem.run("k", b"fp", fn) == result
    assert fn.count == 0


class _ReleaseFails(MemoryStore):
    """A store that goes away between taking a lease and releasing it."""

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        if new is None:
            raise cryptorails.StoreUnavailable("store went away")
        return super()._compare_and_set(key, expected, new, ttl_ms)


def _boom() -> bytes:
    raise RuntimeError("downstream failed")


@pytest.mark.parametrize(
    ("fn", "error", "match"),
    [
        (_boom, RuntimeError, "downstream failed"),
        (lambda: "text", TypeError, "must return bytes"),
        (lambda: b"z" * (16 * 1024 * 1024), ValueError, "larger than"),
    ],
)
def test_failed_release_keeps_the_callers_exception(  # type: ignore[no-untyped-def]
    fn, error, match, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock()
    store = _ReleaseFails(clock=clock)
    idem = Idempotency(store, lease=timedelta(seconds=30), clock=clock)
    with (
        caplog.at_level("WARNING", logger="cryptorails.replay"),
        pytest.raises(error, match=match) as e,
    ):
        idem.run("k", b"fp", fn)
    assert not isinstance(e.value, cryptorails.StoreUnavailable)
    assert [r.getMessage() for r in caplog.records] == [
        "could not release an idempotency lease; it expires in 30.0s"
    ]
    assert caplog.records[0].exc_info is not None
    assert isinstance(caplog.records[0].exc_info[1], cryptorails.StoreUnavailable)
    with pytest.raises(IdempotencyInFlight):  # the lease was not released...
        idem.run("k", b"fp", Calls())
    clock.advance(timedelta(seconds=30))
    assert idem.run("k", b"fp", Calls(b"later")) == b"later"  # ...until it expired
