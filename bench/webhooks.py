"""Webhook benchmark: verified Standard Webhooks per second, and what the replay guard costs.

One process, one message at a time. Four configurations per body size:

- floor: a bare HMAC-SHA256 check of the same signed content (``id.timestamp.body``)
  with `hmac.compare_digest` against the decoded ``v1`` tag. No header checks, no time
  window, no replay protection: what a hand-rolled receiver does at the least.
- `WebhookVerifier` without a guard (headers, signature, time window).
- with a `ReplayGuard` on SQLite (a file in a temporary directory; the store commits
  every claim with ``synchronous=FULL``, so this is bounded by the disk's sync latency).
- with a `ReplayGuard` on Redis (``redis://127.0.0.1:6379/15`` unless
  ``CRYPTORAILS_BENCH_REDIS`` says otherwise; keys under a namespace unique to the run,
  deleted afterwards). Reported as not available when no server answers.

A guard accepts each ``webhook-id`` once, so no input can be reused: every batch gets
messages signed just for it, before its clock starts (a `Fresh` factory). Before timing,
each configuration verifies one message and, with a guard, must reject its replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import math
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cryptorails.clock import Window
from cryptorails.errors import Reason, VerificationError
from cryptorails.replay import ReplayGuard
from cryptorails.stores import RedisStore, SQLiteStore, Store
from cryptorails.webhooks import WebhookSigner, WebhookVerifier

from ._harness import (
    Batch,
    Job,
    Settings,
    Timing,
    benchmark,
    format_ns,
    format_ratio,
    measure,
    version_of,
)

__all__ = ["SIZES", "run"]

SIZES = (64, 1024, 64 * 1024)
FLOOR, NO_GUARD, SQLITE, REDIS = "floor", "no_guard", "sqlite", "redis"
LABELS = {
    FLOOR: "bare HMAC-SHA256 + compare_digest",
    NO_GUARD: "WebhookVerifier, no guard",
    SQLITE: "WebhookVerifier + ReplayGuard (SQLite)",
    REDIS: "WebhookVerifier + ReplayGuard (Redis)",
}
REDIS_URL = os.environ.get("CRYPTORAILS_BENCH_REDIS", "redis://127.0.0.1:6379/15")
_TOLERANCE = timedelta(minutes=5)

Headers = Mapping[str, str]
Check = Callable[[Headers, bytes], object]
Results = dict[tuple[int, str], Timing]


def size_label(size: int) -> str:
    """``64 B``, ``1 KiB``, ``64 KiB``."""
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


class Messages:
    """Signs messages with ids never used before (a `Fresh` factory)."""

    def __init__(self, signer: WebhookSigner, body: bytes) -> None:
        self._signer = signer
        self._body = body
        self._run = secrets.token_hex(6)
        self._counter = itertools.count()

    def __call__(self, n: int) -> list[Headers]:
        now = datetime.now(UTC)
        return [
            self._signer.sign(f"msg_{self._run}_{next(self._counter)}", now, self._body)
            for _ in range(n)
        ]


def _floor_check(key: bytes) -> Check:
    """The bare check: HMAC over ``id.timestamp.body``, compared in constant time."""

    def check(headers: Headers, body: bytes) -> None:
        content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        tag = hmac.new(key, content, hashlib.sha256).digest()
        if not hmac.compare_digest(tag, base64.b64decode(headers["webhook-signature"][3:])):
            raise ValueError("bad signature")

    return check


def _batch(check: Check, body: bytes) -> Batch:
    def batch(items: list[Any]) -> object:
        for headers in items:
            check(headers, body)
        return None

    return batch


def _rejects_replay(check: Check, headers: Headers, body: bytes) -> bool:
    try:
        check(headers, body)
    except VerificationError as exc:
        return exc.reason is Reason.REPLAY
    return False


@contextmanager
def _redis_store(console: Console) -> Iterator[Store | None]:
    """A Redis store in a namespace of its own, emptied on exit; None without a server."""
    namespace = f"bench-webhooks-{secrets.token_hex(6)}"
    store: RedisStore | None = None
    try:
        store = RedisStore(REDIS_URL, namespace=namespace, timeout=2.0)
    except Exception as exc:  # no server, no driver: the other rows are still worth having
        console.print(f"Redis at {REDIS_URL}: not available ({exc})", highlight=False)
    try:
        yield store
    finally:
        if store is not None:
            store.close()
            _delete_namespace(console, namespace)


def _redis_round_trip_ns() -> float | None:
    """The best of 200 PINGs (the network floor under every Redis claim), or None."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        best = math.inf
        for _ in range(200):
            start = time.perf_counter_ns()
            client.ping()
            best = min(best, time.perf_counter_ns() - start)
        return best
    except redis.RedisError:
        return None
    finally:
        client.close()


def _delete_namespace(console: Console, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    except redis.RedisError as exc:
        console.print(f"Redis: could not delete {namespace}:* ({exc})", highlight=False)
    finally:
        client.close()


def _configurations(key: bytes, stores: dict[str, Store]) -> dict[str, Check]:
    secret = "whsec_" + base64.b64encode(key).decode("ascii")
    checks: dict[str, Check] = {
        FLOOR: _floor_check(key),
        NO_GUARD: WebhookVerifier(secret, tolerance=_TOLERANCE).verify,
    }
    for name, store in stores.items():
        guard = ReplayGuard(store, Window(_TOLERANCE))
        checks[name] = WebhookVerifier(secret, guard=guard, tolerance=_TOLERANCE).verify
    return checks


def _jobs(
    size: int, checks: dict[str, Check], signer: WebhookSigner, failures: dict[str, str]
) -> list[Job]:
    """The timed jobs at `size`, after each check accepted a message (and refused its
    replay, when it has a guard). A check that fails moves from `checks` to `failures`."""
    body = os.urandom(size)
    jobs = []
    for name, check in list(checks.items()):
        messages = Messages(signer, body)
        (first,) = messages(1)
        try:
            check(first, body)
            if name in (SQLITE, REDIS) and not _rejects_replay(check, first, body):
                raise RuntimeError("a replayed message was accepted")
        except Exception as exc:  # report the configuration, keep measuring the others
            failures[name] = f"failed at {size_label(size)}: {type(exc).__name__}: {exc}"
            del checks[name]
            continue
        jobs.append(Job((str(size), name), _batch(check, body), messages))
    return jobs


def _ratio(results: Results, size: int, key: str, against: str) -> float | None:
    mine, theirs = results.get((size, key)), results.get((size, against))
    return mine.ns_per_op / theirs.ns_per_op if mine and theirs else None


def _table(results: Results, keys: list[str]) -> Table:
    table = Table(
        title="Standard Webhooks (v1, HMAC-SHA256) verified per second, one process",
        caption="ratios: time per message / the no-guard verifier's, and / the bare HMAC "
        "floor's (lower is better). guard adds: time beyond the no-guard verifier.",
    )
    for column in ("body", "configuration", "msg/s", "µs/msg", "vs no guard", "vs floor"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    table.add_column("guard adds", justify="right")
    for size in SIZES:
        for key in keys:
            timing = results.get((size, key))
            label = size_label(size) if key == keys[0] else ""
            if timing is None:
                table.add_row(label, LABELS[key], "—", "—", "", "", "")
                continue
            vs_plain = _ratio(results, size, key, NO_GUARD) if key in (SQLITE, REDIS) else None
            vs_floor = _ratio(results, size, key, FLOOR) if key != FLOOR else None
            plain = results.get((size, NO_GUARD))
            added = (
                format_ns(timing.ns_per_op - plain.ns_per_op)
                if plain is not None and key in (SQLITE, REDIS)
                else ""
            )
            table.add_row(
                label,
                LABELS[key],
                f"{1e9 / timing.ns_per_op:,.0f}",
                f"{timing.ns_per_op / 1e3:,.1f}",
                format_ratio(vs_plain) if vs_plain else "",
                format_ratio(vs_floor) if vs_floor else "",
                added,
            )
        if size != SIZES[-1]:
            table.add_section()
    return table


def _result_json(results: Results, size: int, key: str) -> dict[str, Any]:
    timing = results[(size, key)]
    ratios = {
        "ratio_to_no_guard": _ratio(results, size, key, NO_GUARD),
        "ratio_to_floor": _ratio(results, size, key, FLOOR),
    }
    return {
        "size": size,
        "configuration": key,
        **timing.as_json(),
        "messages_per_s": round(1e9 / timing.ns_per_op, 1),
        **{name: round(r, 4) for name, r in ratios.items() if r is not None},
    }


@benchmark("webhooks", "verified Standard Webhooks per second: no guard, SQLite and Redis guards")
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Verify fresh messages under every configuration at every size; print the table."""
    key = os.urandom(32)
    signer = WebhookSigner("whsec_" + base64.b64encode(key).decode("ascii"))
    results: Results = {}
    failures: dict[str, str] = {}
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        stores: dict[str, Store] = {}
        sqlite = stack.enter_context(SQLiteStore(directory / "replay.db"))
        stores[SQLITE] = sqlite
        redis_store = stack.enter_context(_redis_store(console))
        if redis_store is not None:
            stores[REDIS] = redis_store
        else:
            failures[REDIS] = "not available"
        checks = _configurations(key, stores)
        for size in SIZES:
            with console.status(f"webhooks: {size_label(size)} bodies"):
                jobs = _jobs(size, checks, signer, failures)
                for (_, name), timing in measure(jobs, settings).items():
                    if isinstance(timing, Exception):
                        where = f"failed at {size_label(size)}"
                        failures[name] = f"{where}: {type(timing).__name__}: {timing}"
                        checks.pop(name, None)
                    else:
                        results[(size, name)] = timing
    console.print(_table(results, [FLOOR, NO_GUARD, SQLITE, REDIS]))
    console.print(f"SQLite file in {tempfile.gettempdir()} (synchronous=FULL)", highlight=False)
    ping_ns = _redis_round_trip_ns() if REDIS not in failures else None
    if ping_ns is not None:
        console.print(f"Redis round trip (best PING): {format_ns(ping_ns)}", highlight=False)
    for name, why in failures.items():
        console.print(f"{LABELS[name]}: {why}", highlight=False)
    return {
        "sizes": list(SIZES),
        "redis_url": REDIS_URL,
        "redis_py": version_of("redis"),
        "redis_ping_ns": ping_ns,
        "unavailable": failures,
        "results": [_result_json(results, *where) for where in results],
    }
