"""Many processes on one store: Idempotency runs each key once, ReplayGuard accepts once.

Workers are separate interpreters started with `-c` (tests run with importlib import mode,
so a worker cannot import this module). They wait on stdin for a common start signal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cryptorails.stores import open_store

BACKENDS = ["sqlite", "redis", "postgres"]

_IDEMPOTENCY_WORKER = r"""
import json, random, sys
from collections import deque
from cryptorails.errors import IdempotencyInFlight
from cryptorails.replay import Idempotency
from cryptorails.stores import open_store

url, ns, keys, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = open_store(url, namespace=ns)
idem = Idempotency(store)
executed = []

def work(key):
    def fn():
        executed.append(key)
        store.add("runs:" + key, 1, None)  # a second witness, in the store itself
        return ("result-" + key).encode()
    return fn

order = [f"k{i}" for i in range(keys)]
random.shuffle(order)
pending = deque(order)
results, in_flight = {}, 0
print("ready", flush=True)
sys.stdin.readline()
while pending:
    key = pending.popleft()
    try:
        results[key] = idem.run(key, b"same request", work(key)).decode()
    except IdempotencyInFlight:
        in_flight += 1
        pending.append(key)
with open(out, "w") as f:
    json.dump({"executed": executed, "results": results, "in_flight": in_flight}, f)
store.close()
"""

_REPLAY_WORKER = r"""
import json, sys
from datetime import UTC, datetime
from cryptorails.clock import Window
from cryptorails.errors import Reason, VerificationError
from cryptorails.replay import ReplayGuard
from cryptorails.stores import open_store

url, ns, ids, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = open_store(url, namespace=ns)
guard = ReplayGuard(store, Window())
accepted, replays = [], 0
print("ready", flush=True)
sys.stdin.readline()
now = datetime.now(UTC)
for i in range(ids):
    try:
        guard.check("sender", f"msg-{i}", now)
        accepted.append(i)
    except VerificationError as e:
        assert e.reason is Reason.REPLAY, e.reason
        replays += 1
with open(out, "w") as f:
    json.dump({"accepted": accepted, "replays": replays}, f)
store.close()
"""


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue(f"{backend}_url"))


def _run_workers(
    script: str, url: str, ns: str, count: int, processes: int, tmp_path: Path
) -> tuple[list[dict[str, object]], float]:
    open_store(url, namespace=ns).close()  # create the schema before the race
    outs = [tmp_path / f"worker{n}.json" for n in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, ns, str(count), str(out)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
    started = time.monotonic()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
    for p in procs:
        assert p.wait(timeout=120) == 0
    elapsed = time.monotonic() - started
    return [json.loads(out.read_text()) for out in outs], elapsed


def _cleanup(backend: str, url: str, ns: str) -> None:
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{ns}:*", count=5000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i : i + 1000])
        client.close()
    elif backend == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM cryptorails_store WHERE namespace = %s", (ns,))


@pytest.mark.parametrize("backend", BACKENDS)
def test_idempotency_stress_8_processes_500_keys(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 4: 8 processes x 500 keys, each key tried from every process."""
    processes, keys = 8, 500
    url, ns = _url(backend, request, tmp_path), f"t{uuid.uuid4().hex[:16]}"
    try:
        reports, elapsed = _run_workers(_IDEMPOTENCY_WORKER, url, ns, keys, processes, tmp_path)
        executed = [k for r in reports for k in r["executed"]]  # type: ignore[attr-defined]
        expected = {f"k{i}" for i in range(keys)}
        assert sorted(executed) == sorted(expected)  # every key ran, and exactly once
        for r in reports:  # no result lost: every process got every key's result
            assert r["results"] == {k: f"result-{k}" for k in expected}
        with open_store(url, namespace=ns) as store:
            for key in expected:
                assert store.get("runs:" + key) == b"1"
        in_flight = sum(int(r["in_flight"]) for r in reports)  # type: ignore[call-overload]
        print(f"\n{backend}: {processes}x{keys} in {elapsed:.2f}s, {in_flight} in-flight retries")
    finally:
        _cleanup(backend, url, ns)


@pytest.mark.parametrize("backend", BACKENDS)
def test_replay_guard_across_processes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    processes, ids = 6, 200
    url, ns = _url(backend, request, tmp_path), f"t{uuid.uuid4().hex[:16]}"
    try:
        reports, elapsed = _run_workers(_REPLAY_WORKER, url, ns, ids, processes, tmp_path)
        accepted = sorted(i for r in reports for i in r["accepted"])  # type: ignore[attr-defined]
        assert accepted == list(range(ids))  # each id accepted exactly once overall
        assert sum(int(r["replays"]) for r in reports) == ids * (processes - 1)  # type: ignore[call-overload]
        print(f"\n{backend}: replay {processes}x{ids} in {elapsed:.2f}s")
    finally:
        _cleanup(backend, url, ns)
