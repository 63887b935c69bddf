"""The embedded store: one SQLite file, shared safely by the processes of one host.

Why this is safe across processes: the database runs in WAL mode (readers never block the
writer), every read-modify-write runs in a `BEGIN IMMEDIATE` transaction (it takes the
write lock before reading, so two processes cannot both see "absent" and both claim), and
a busy timeout makes a writer wait for the lock instead of failing at once. WAL needs
shared memory, so the file must be on a local file system, not NFS.

Time: expiry uses the wall clock of the process (`clock.now()`, by default the system
clock), stored as Unix milliseconds. All processes on one host share that clock, so they
agree on what has expired. If the clock steps back, entries live longer (a replay record
errs on the safe side); if it steps forward, they expire early.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from cryptorails.clock import Clock, SystemClock
from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.stores._base import Pool, StoreBase, add_counter

__all__ = ["SQLiteStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cryptorails_store ("
    " namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER,"
    " PRIMARY KEY (namespace, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cryptorails_store_expires ON cryptorails_store (expires_at)"
    " WHERE expires_at IS NOT NULL",
)
# Parameters are (namespace, key, now) in every statement that reads a live entry.
_SELECT = (
    "SELECT value FROM cryptorails_store WHERE namespace = ? AND key = ?"
    " AND (expires_at IS NULL OR expires_at > ?)"
)
_UPSERT = (
    "INSERT OR REPLACE INTO cryptorails_store (namespace, key, value, expires_at)"
    " VALUES (?, ?, ?, ?)"
)
_UPDATE_VALUE = "UPDATE cryptorails_store SET value = ? WHERE namespace = ? AND key = ?"
_DELETE = "DELETE FROM cryptorails_store WHERE namespace = ? AND key = ?"
_PURGE = (
    "DELETE FROM cryptorails_store WHERE (namespace, key) IN ("
    " SELECT namespace, key FROM cryptorails_store"
    " WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)"
)
# Expired rows are deleted in small batches every `_PURGE_EVERY` writes of a store object,
# so the table does not grow without bound and no single write pays for a large purge.
# The purge runs inside that write's own transaction, under the write lock it already
# holds: a separate transaction after the commit could fail on a busy lock and turn a
# committed claim into an error (a webhook answered 503 whose retry is then a replay).
_PURGE_EVERY = 256
_PURGE_BATCH = 512


class SQLiteStore(StoreBase):
    """A `Store` in a SQLite file (created with mode 0600 if missing).

    The file, and its -wal and -shm files if they exist, must be regular files (not
    symbolic links) owned by the effective user and not accessible by group or others;
    anything else is refused with `ConfigurationError`, because whoever can write the
    file can forge or erase replay records. Keep it in a directory only that user can
    write, too: the checks cannot stop a file being swapped after they ran.

    Args:
        path: the database file.
        namespace: prefix that separates the keys of different users of one file.
        clock: the wall clock that decides expiry (default: the system clock).
        busy_timeout: seconds a writer waits for another process's transaction.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        namespace: str = "cryptorails",
        clock: Clock | None = None,
        busy_timeout: float = 10.0,
    ) -> None:
        super().__init__(namespace)
        self.path = Path(path)
        self._clock = clock or SystemClock()
        self._busy_timeout = busy_timeout
        self._writes = 0
        # Create the file ourselves so it is never world-readable; SQLite gives the
        # -wal and -shm files the same permissions as the database.
        _check_file(self.path, create=True)
        for suffix in ("-wal", "-shm"):
            _check_file(Path(f"{self.path}{suffix}"), create=False)
        self._pool: Pool[sqlite3.Connection] = Pool(
            self._connect, _close, f"SQLite store {self.path}"
        )
        try:
            with self._pool.connection(_healthy) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                with _transaction(conn):
                    for statement in _SCHEMA:
                        conn.execute(statement)
        except sqlite3.OperationalError as e:
            self._pool.close()
            if _is_busy(e):
                raise self._unavailable(e) from None
            raise ConfigurationError(f"cannot use SQLite store {self.path}: {e}") from None
        except sqlite3.Error as e:
            self._pool.close()
            raise ConfigurationError(f"cannot use SQLite store {self.path}: {e}") from None

    def _connect(self) -> sqlite3.Connection:
        # sqlite3.Error propagates: while opening it is a ConfigurationError (__init__),
        # afterwards (EMFILE, a vanished directory) StoreUnavailable, like any other
        # failure of an operation.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE
            check_same_thread=False,  # the pool hands a connection to one thread at a time
        )
        try:
            # FULL: a claim that was acknowledged survives a power loss, so a replayed
            # message cannot slip through after the host comes back.
            conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            _close(conn)
            raise
        return conn

    def _unavailable(self, error: sqlite3.Error) -> StoreUnavailable:
        return StoreUnavailable(f"SQLite store {self.path} unavailable: {error}")

    def _now(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[sqlite3.Connection, int]]:
        try:
            with self._pool.connection(_healthy) as conn, _transaction(conn):
                now = self._now()
                self._writes += 1
                if self._writes % _PURGE_EVERY == 0:
                    conn.execute(_PURGE, (now, _PURGE_BATCH))
                yield conn, now
        except sqlite3.Error as e:
            raise self._unavailable(e) from None

    def _row(self, conn: sqlite3.Connection, key: str, now: int) -> bytes | None:
        row = conn.execute(_SELECT, (self.namespace, key, now)).fetchone()
        return None if row is None else bytes(row[0])

    def _put(
        self, conn: sqlite3.Connection, key: str, value: bytes, now: int, ttl_ms: int | None
    ) -> None:
        conn.execute(
            _UPSERT,
            (self.namespace, key, value, None if ttl_ms is None else now + ttl_ms),
        )

    def _remove(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute(_DELETE, (self.namespace, key))

    def _claim(self, key: str, value: bytes, ttl_ms: int) -> bool:
        with self._write() as (conn, now):
            if self._row(conn, key, now) is not None:
                return False
            self._put(conn, key, value, now, ttl_ms)
            return True

    def _get(self, key: str) -> bytes | None:
        try:
            with self._pool.connection(_healthy) as conn:
                return self._row(conn, key, self._now())
        except sqlite3.Error as e:
            raise self._unavailable(e) from None

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        with self._write() as (conn, now):
            if self._row(conn, key, now) != expected:
                return False
            if new is None:
                self._remove(conn, key)
            else:
                self._put(conn, key, new, now, ttl_ms)
            return True

    def _add(self, key: str, amount: int, ttl_ms: int | None) -> int:
        with self._write() as (conn, now):
            current = self._row(conn, key, now)
            total = add_counter(current, amount)
            if current is None:
                self._put(conn, key, str(total).encode(), now, ttl_ms)
            else:
                conn.execute(_UPDATE_VALUE, (str(total).encode(), self.namespace, key))
            return total

    def _delete(self, key: str) -> bool:
        with self._write() as (conn, now):
            live = self._row(conn, key, now) is not None
            self._remove(conn, key)
            return live

    def purge_expired(self, limit: int | None = None) -> int:
        """Delete expired entries of every namespace in this file; return how many.

        Expired entries are already invisible; this only reclaims space. Stores also do
        it on their own, a small batch at a time.
        """
        batch = -1 if limit is None else limit
        try:
            with self._pool.connection(_healthy) as conn, _transaction(conn):
                cursor = conn.execute(_PURGE, (self._now(), batch))
                return cursor.rowcount
        except sqlite3.Error as e:
            raise self._unavailable(e) from None

    def _close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, namespace={self.namespace!r})"


def _check_file(path: Path, *, create: bool) -> None:
    """Refuse a store file that is a symlink, not a regular file, or not private to us."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags | os.O_CREAT if create else flags, 0o600)
    except FileNotFoundError:
        if create:
            raise ConfigurationError(
                f"cannot open SQLite store {path}: no such directory"
            ) from None
        return  # no -wal/-shm file yet: SQLite creates it with the database's mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ConfigurationError(
                f"SQLite store {path} is a symbolic link; give the real path"
            ) from None
        raise ConfigurationError(f"cannot open SQLite store {path}: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"SQLite store {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"SQLite store {path} is owned by uid {info.st_uid}, not by this process's"
            f" uid {os.geteuid()}"
        )
    if info.st_mode & 0o077:
        raise ConfigurationError(
            f"SQLite store {path} is accessible by group or others"
            f" (mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it"
        )


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock before the first read, so the read in a
    # read-modify-write cannot go stale before the write (no lost update, no double claim).
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(error)


def _healthy(conn: sqlite3.Connection) -> bool:
    return not conn.in_transaction


def _close(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()
