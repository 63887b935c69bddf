"""open_store: URL parsing, configuration and unavailability errors, SQLite specifics."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.stores import PostgresStore, RedisStore, SQLiteStore, open_store
from cryptorails.testing import FixedClock


@pytest.mark.parametrize(
    "url",
    [
        "",
        "memory://",
        "mysql://localhost/db",
        "file:///tmp/x.db",
        "sqlite://",
        "sqlite://host/path.db",
        "sqlite:///tmp/x.db?mode=ro",
        "redis://",
        "redis:///0",
        "redis://127.0.0.1:6379/notanumber",
        "http://[::1/",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(url)


def test_url_must_be_text() -> None:
    with pytest.raises(TypeError):
        open_store(b"sqlite:///tmp/x.db")  # type: ignore[arg-type]


@pytest.mark.parametrize("namespace", ["", "a:b", "x" * 65, "spa ce", "ü"])
def test_bad_namespaces(tmp_path: Path, namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace must be"):
        open_store(f"sqlite://{tmp_path}/s.db", namespace=namespace)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "postgresql://u@127.0.0.1/db"])
def test_clock_is_for_sqlite_only(url: str) -> None:
    with pytest.raises(ConfigurationError, match="server's clock"):
        open_store(url, clock=FixedClock())


def test_sqlite_unusable_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open"):
        open_store(f"sqlite://{tmp_path}/missing-dir/s.db")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigurationError):
        open_store(f"sqlite://{tmp_path}/junk.db")


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:rel.db") as store:
        assert isinstance(store, SQLiteStore)
        store.claim("k", b"v", timedelta(minutes=1))
    assert (tmp_path / "rel.db").exists()


def test_sqlite_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with open_store(f"sqlite://{tmp_path}/s.db") as store:
            store.claim("k", b"v", timedelta(minutes=1))
            files = sorted(p.name for p in tmp_path.iterdir())
            assert files == ["s.db", "s.db-shm", "s.db-wal"]
            for name in files:
                assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(old)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    open_store(f"sqlite://{tmp_path}/s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_sqlite_purge_removes_only_expired(tmp_path: Path) -> None:
    clock = FixedClock()
    store = open_store(f"sqlite://{tmp_path}/s.db", clock=clock)
    assert isinstance(store, SQLiteStore)
    other = open_store(f"sqlite://{tmp_path}/s.db", namespace="other", clock=clock)
    store.claim("short", b"1", timedelta(seconds=1))
    other.claim("short", b"1", timedelta(seconds=1))
    store.claim("long", b"1", timedelta(hours=1))
    store.add("forever", 1, None)
    assert store.purge_expired() == 0
    clock.advance(2)
    assert store.purge_expired() == 2
    assert store.get("long") == b"1"
    assert store.get("forever") == b"1"


def test_sqlite_locked_file_is_unavailable(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="SQLite store"):
            store.claim("k", b"v", timedelta(minutes=1))
        assert store.get("k") is None  # readers are not blocked in WAL mode
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.claim("k", b"v", timedelta(minutes=1))  # and the store recovers


def test_postgres_purge(postgres_url: str) -> None:
    import time
    import uuid

    store = open_store(postgres_url, namespace=f"t{uuid.uuid4().hex[:16]}")
    assert isinstance(store, PostgresStore)
    try:
        store.claim("short", b"1", timedelta(milliseconds=100))
        store.claim("long", b"1", timedelta(hours=1))
        time.sleep(0.15)
        assert store.purge_expired() >= 1
        assert store.get("long") == b"1"
        assert store.delete("long")
    finally:
        store.close()


def test_unreachable_servers_raise_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"Redis store redis://u@127\.0\.0\.1:1/0") as e:
        open_store("redis://u:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in str(e.value)
    with pytest.raises(StoreUnavailable, match="PostgreSQL store") as e:
        open_store("postgresql://u:hunter2@127.0.0.1:1/test")
    assert "hunter2" not in str(e.value)


def test_redis_failure_after_open_is_store_unavailable(redis_url: str) -> None:
    import redis

    store = RedisStore(redis_url, namespace="tpaused", timeout=0.2)
    admin = redis.Redis.from_url(redis_url)
    admin.execute_command("CLIENT", "PAUSE", "500", "WRITE")  # writes stall for 0.5 s
    try:
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.claim("k", b"v", timedelta(seconds=1))
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
    store.close()


def test_postgres_failure_after_open_is_store_unavailable(postgres_url: str) -> None:
    store = open_store(postgres_url, namespace="tclosed")
    assert isinstance(store, PostgresStore)
    store.get("k")  # leaves one idle connection in the pool
    with store._pool.connection(lambda c: True) as conn:
        pid = conn.info.backend_pid
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import psycopg,sys; psycopg.connect(sys.argv[1], autocommit=True)"
            ".execute('SELECT pg_terminate_backend(%s)', (int(sys.argv[2]),))",
            postgres_url,
            str(pid),
        ],
        check=True,
    )
    with pytest.raises(StoreUnavailable):
        store.get("k")
    assert store.get("k") is None  # the broken connection was dropped; a new one works
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:S3cr%zzet@127.0.0.1:5432/test",
        "postgresql://u:S3cr%zzet@127.0.0.1:5432/test?sslmode=require",
        "postgresql://u:S3cr%2@127.0.0.1:5432/test",
    ],
)
def test_postgres_malformed_url_hides_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^malformed PostgreSQL connection URL") as e:
        open_store(url)
    message = str(e.value)
    assert "u@127.0.0.1:5432/test" in message
    for part in ("S3cr", "zzet", "%2", "%zz"):
        assert part not in message, part
    assert e.value.__cause__ is None
    assert e.value.__suppress_context__


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("sslmode=bogus", "sslmode"),
        ("target_session_attrs=zz", "target_session_attrs"),
        ("keepalives=x", "keepalives"),
        ("ssl_min_protocol_version=zz", "ssl_min_protocol_version"),
    ],
)
def test_postgres_bad_option_is_configuration_error(
    postgres_url: str, query: str, option: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"malformed PostgreSQL .*: invalid {option} "):
        open_store(f"{postgres_url}?{query}")


def test_postgres_bad_port_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid port value"):
        open_store("postgresql://u:pw@127.0.0.1:99999/test")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:hunter2@127.0.0.1:1/0", "redis://u@127.0.0.1:1/0"),
        ("redis://:hunter2@h/0", "redis://h/0"),
        ("postgresql://h/db?password=hunter2", "postgresql://h/db"),
        # libpq takes "#", "?" and "/" in a password where urllib splits the URL there.
        ("postgresql://u:12#hunter2@h/db", "postgresql://u@h/db"),
        ("postgresql://u:12?hunter2@h/db", "postgresql://u@h/db"),
        ("postgresql://u:12/hunter2@h/db", "<unparseable URL>"),
        ("postgresql://u:hun@ter2@h/db", "<unparseable URL>"),
        ("postgresql://u@h/db?options=a@hunter2", "postgresql://u@h/db"),
        ("postgresql://u:hunter2@h/db\n", "postgresql://u@h/db?"),
        ("not a url hunter2", "<unparseable URL>"),
    ],
)
def test_display_url_never_shows_a_password(url: str, shown: str) -> None:
    from cryptorails.stores._base import display_url

    assert display_url(url) == shown
    assert "hunter2" not in display_url(url)
