"""SQLiteStore specifics: file ownership and mode, opportunistic purge, runtime failures."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.stores import SQLiteStore, _sqlite, open_store
from cryptorails.testing import FixedClock

LONG = timedelta(minutes=5)


def _rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM cryptorails_store").fetchone()[0])
    finally:
        conn.close()


# Opportunistic purge ---------------------------------------------------------------


def test_purging_write_is_not_failed_by_a_busy_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    real = _sqlite._transaction

    @contextlib.contextmanager
    def then_another_process_writes(conn: sqlite3.Connection) -> Iterator[None]:
        with real(conn):
            yield
        # The moment the store's transaction commits, another process takes the lock.
        if not holder.in_transaction:
            holder.execute("BEGIN IMMEDIATE")

    monkeypatch.setattr(_sqlite, "_transaction", then_another_process_writes)
    store._writes = _sqlite._PURGE_EVERY - 1  # the next write is a purging one
    try:
        assert store.claim("k", b"v", LONG) is True  # committed, so it must say so
        assert holder.in_transaction  # the lock really was taken after the commit
    finally:
        monkeypatch.undo()
        holder.execute("ROLLBACK")
        holder.close()
    assert store.get("k") == b"v"
    assert store.claim("k", b"other", LONG) is False
    store.close()


def test_purge_runs_with_every_256th_write(tmp_path: Path) -> None:
    clock = FixedClock()
    path = tmp_path / "s.db"
    store = SQLiteStore(path, clock=clock)
    for i in range(10):
        store.claim(f"old{i}", b"1", timedelta(seconds=1))
    clock.advance(2)
    for i in range(_sqlite._PURGE_EVERY - 11):
        store.claim(f"new{i}", b"1", LONG)
    assert _rows(path) == _sqlite._PURGE_EVERY - 1  # expired rows are still there
    store.claim("last", b"1", LONG)  # the 256th write purges, in its own transaction
    assert _rows(path) == _sqlite._PURGE_EVERY - 10
    assert store.get("last") == b"1"
    store.close()


# Files: symlinks, ownership, mode ---------------------------------------------------


def test_symlinked_database_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "real.db").close()
    (tmp_path / "link.db").symlink_to(tmp_path / "real.db")
    with pytest.raises(ConfigurationError, match="symbolic link"):
        open_store(f"sqlite://{tmp_path}/link.db")
    (tmp_path / "dangling.db").symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(ConfigurationError, match="symbolic link"):
        SQLiteStore(tmp_path / "dangling.db")
    assert not (tmp_path / "elsewhere.db").exists()  # nothing was created through it


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_symlinked_wal_and_shm_are_refused(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "target").write_bytes(b"")
    (tmp_path / "target").chmod(0o600)
    (tmp_path / f"s.db{suffix}").symlink_to(tmp_path / "target")
    with pytest.raises(ConfigurationError, match="symbolic link"):
        SQLiteStore(tmp_path / "s.db")


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640, 0o604, 0o610, 0o601])
def test_database_accessible_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match=f"group or others \\(mode {mode:04o}\\)"):
        SQLiteStore(path)
    path.chmod(0o600)
    SQLiteStore(path).close()  # the same file is accepted once it is private


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_wal_and_shm_accessible_by_others_are_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    extra = Path(f"{path}{suffix}")
    extra.write_bytes(b"")
    extra.chmod(0o644)
    with pytest.raises(ConfigurationError, match="group or others"):
        SQLiteStore(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
@pytest.mark.parametrize("name", ["s.db", "s.db-wal"])
def test_file_of_another_owner_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    (tmp_path / name).touch(mode=0o600)
    os.chown(tmp_path / name, 65534, -1)
    with pytest.raises(ConfigurationError, match="owned by uid 65534"):
        SQLiteStore(path)


def test_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "s.db", 0o600)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        SQLiteStore(tmp_path / "s.db")


# Failures after opening ------------------------------------------------------------


def test_connect_failure_after_open_is_store_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert store.claim("k", b"v", LONG)

    def emfile(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")  # what EMFILE gives

    # Hold the pool's idle connection, so the next call must open a new one.
    with store._pool.connection(_sqlite._healthy):
        monkeypatch.setattr(sqlite3, "connect", emfile)
        with pytest.raises(StoreUnavailable, match="unable to open database file"):
            store.get("k")
        with pytest.raises(StoreUnavailable, match="unable to open database file"):
            store.claim("k2", b"v", LONG)
        monkeypatch.undo()
    assert store.get("k") == b"v"  # and it recovers
    store.close()


def test_connect_failure_while_opening_is_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", broken)
    with pytest.raises(ConfigurationError, match="SQLite store"):
        SQLiteStore(tmp_path / "s.db")


def test_closed_pool_is_store_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store._pool.close()  # as when close() races an operation in another thread
    with pytest.raises(StoreUnavailable, match=r"SQLite store .*s\.db is closed"):
        store.get("k")
    store.close()
