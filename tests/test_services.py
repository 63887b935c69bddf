"""The shared services later features rely on are reachable (CI requires them)."""

from __future__ import annotations

import os


def test_redis_round_trip(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    key = f"cryptorails-test:{os.getpid()}"
    assert client.set(key, b"v", ex=10, nx=True)
    assert client.get(key) == b"v"
    assert client.delete(key) == 1


def test_postgres_round_trip(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT %s::bytea", (b"\x00\xff",)).fetchone()
    assert row is not None
    assert bytes(row[0]) == b"\x00\xff"
