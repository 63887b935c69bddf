"""The fleet store on PostgreSQL (psycopg 3).

Every operation is one statement in autocommit mode, atomic on its own: a claim is
`INSERT ... ON CONFLICT DO UPDATE ... WHERE <the row has expired>`, which PostgreSQL
evaluates under the row lock on the latest row version, so two hosts cannot both win.
Compare-and-set is a conditional `UPDATE`/`DELETE` (or the claim statement when the
expected state is "absent"); add is an upsert with the sum computed in SQL.

Time: expiry uses the database server's clock (`now()`), so every host agrees on it
whatever its own clock. Expired rows are invisible at once and deleted in small batches
from time to time by any store object that writes.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any, NoReturn

from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.stores._base import (
    NOT_A_COUNTER,
    OVERFLOW,
    Pool,
    StoreBase,
    display_url,
    parse_counter,
)

__all__ = ["PostgresStore"]

# Every statement is a constant. %(ttl)s is milliseconds or NULL; NULL makes the
# expiry NULL ("never"). "Live" means expires_at IS NULL OR expires_at > now().
_CLAIM = (
    "INSERT INTO cryptorails_store AS t (namespace, key, value, expires_at)"
    " VALUES (%(ns)s, %(key)s, %(value)s, now() + %(ttl)s::bigint * interval '1 millisecond')"
    " ON CONFLICT (namespace, key) DO UPDATE"
    " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
    # The update fires only on an expired row, so "expired" behaves exactly as "absent".
    " WHERE t.expires_at IS NOT NULL AND t.expires_at <= now()"
)
_GET = (
    "SELECT value FROM cryptorails_store WHERE namespace = %(ns)s AND key = %(key)s"
    " AND (expires_at IS NULL OR expires_at > now())"
)
_SWAP = (
    "UPDATE cryptorails_store"
    " SET value = %(new)s, expires_at = now() + %(ttl)s::bigint * interval '1 millisecond'"
    " WHERE namespace = %(ns)s AND key = %(key)s AND value = %(expected)s"
    " AND (expires_at IS NULL OR expires_at > now())"
)
_DELETE_IF = (
    "DELETE FROM cryptorails_store"
    " WHERE namespace = %(ns)s AND key = %(key)s AND value = %(expected)s"
    " AND (expires_at IS NULL OR expires_at > now())"
)
# The counter is decimal text in bytea, as on the other backends; the expiry is set only
# when the counter is created (or replaces an expired row). The stored text is added to
# only if it is a canonical counter inside the int64 range (`_base.parse_counter`):
# PostgreSQL's own ::bigint cast would also take " 12", "+5" and "007". Otherwise the
# DO UPDATE's WHERE leaves the row alone and no row is returned. encode(..., 'escape')
# never fails (non-ASCII bytes become backslash escapes, which the pattern refuses), and
# CASE keeps the numeric cast from seeing text the pattern refused.
_ADD = (
    "INSERT INTO cryptorails_store AS t (namespace, key, value, expires_at)"
    " VALUES (%(ns)s, %(key)s, convert_to(%(amount)s::bigint::text, 'UTF8'),"
    " now() + %(ttl)s::bigint * interval '1 millisecond')"
    " ON CONFLICT (namespace, key) DO UPDATE SET"
    " value = CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= now()"
    " THEN EXCLUDED.value"
    " ELSE convert_to((encode(t.value, 'escape')::bigint + %(amount)s::bigint)::text,"
    " 'UTF8') END,"
    " expires_at = CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= now()"
    " THEN EXCLUDED.expires_at ELSE t.expires_at END"
    " WHERE (t.expires_at IS NOT NULL AND t.expires_at <= now())"
    " OR CASE WHEN encode(t.value, 'escape') ~ '^(0|-?[1-9][0-9]{0,18})$'"
    " THEN encode(t.value, 'escape')::numeric"
    " BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE false END"
    " RETURNING value"
)
_DELETE = (
    "DELETE FROM cryptorails_store WHERE namespace = %(ns)s AND key = %(key)s"
    " RETURNING (expires_at IS NULL OR expires_at > now())"
)
_PURGE = (
    "DELETE FROM cryptorails_store WHERE ctid IN (SELECT ctid FROM cryptorails_store"
    " WHERE expires_at <= now() LIMIT %(limit)s)"
)
_CREATE = (
    "CREATE TABLE IF NOT EXISTS cryptorails_store ("
    " namespace text NOT NULL, key text NOT NULL, value bytea NOT NULL,"
    " expires_at timestamptz, PRIMARY KEY (namespace, key))",
    "CREATE INDEX IF NOT EXISTS cryptorails_store_expires ON cryptorails_store (expires_at)"
    " WHERE expires_at IS NOT NULL",
)
_PURGE_INTERVAL = 30.0  # seconds (monotonic) between purges by one store object
_PURGE_BATCH = 1000


class PostgresStore(StoreBase):
    """A `Store` in the table `cryptorails_store` (created if missing).

    Args:
        url: a libpq URL, `postgresql://user@host:port/dbname?...`.
        namespace: the value of the `namespace` column for this store's rows.
        timeout: seconds for connecting; also the statement timeout.
    """

    def __init__(self, url: str, *, namespace: str = "cryptorails", timeout: float = 5.0) -> None:
        super().__init__(namespace)
        try:
            import psycopg
        except ImportError:
            raise ConfigurationError(
                "the PostgreSQL store needs psycopg 3: pip install 'cryptorails[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._url = url
        self._where = display_url(url)
        self._timeout = timeout
        self._pool: Pool[Any] = Pool(self._connect, _close, f"PostgreSQL store {self._where}")
        self._purge_lock = threading.Lock()
        self._next_purge = time.monotonic() + _PURGE_INTERVAL
        try:
            with self._pool.connection(_healthy) as conn:
                _create_table(conn)
        except psycopg.Error as e:
            self._pool.close()
            self._fail(e)

    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            return psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._timeout)),
                options=f"-c statement_timeout={int(self._timeout * 1000)}",
            )
        except psycopg.ProgrammingError:
            # libpq's text quotes the offending part of the URL, which may be the
            # password ('invalid percent-encoded token: "S3cr%zzet"'), so none of it
            # is shown.
            raise ConfigurationError(f"malformed PostgreSQL connection URL {self._where}") from None
        except psycopg.OperationalError as e:
            option = _invalid_option(str(e))
            if option is not None:
                raise ConfigurationError(
                    f"malformed PostgreSQL connection URL {self._where}: invalid {option}"
                ) from None
            self._fail(e)
        except psycopg.Error as e:
            self._fail(e)

    def _fail(self, error: Exception) -> NoReturn:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise StoreUnavailable(
            f"PostgreSQL store {self._where} unavailable: {type(error).__name__}: {message}"
        ) from None

    def _run(self, sql: str, params: dict[str, Any]) -> tuple[list[tuple[Any, ...]], int]:
        """Execute one statement; return its rows (if it has any) and its row count."""
        psycopg = self._psycopg
        try:
            with self._pool.connection(_healthy) as conn:
                cursor = conn.execute(sql, {"ns": self.namespace, **params})
                rows = cursor.fetchall() if cursor.description is not None else []
                count = int(cursor.rowcount)
        except psycopg.errors.NumericValueOutOfRange:
            # Only _ADD computes, and it has checked the stored counter: the sum overflowed.
            raise ValueError(OVERFLOW) from None
        except psycopg.Error as e:
            self._fail(e)
        return rows, count

    def _claim(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return self._insert_if_absent(key, value, ttl_ms)

    def _insert_if_absent(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        self._maybe_purge()
        return self._run(_CLAIM, {"key": key, "value": value, "ttl": ttl_ms})[1] == 1

    def _get(self, key: str) -> bytes | None:
        rows, _ = self._run(_GET, {"key": key})
        return bytes(rows[0][0]) if rows else None

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        if expected is None:
            if new is None:
                return self._get(key) is None
            return self._insert_if_absent(key, new, ttl_ms)
        self._maybe_purge()
        params = {"key": key, "expected": expected, "new": new, "ttl": ttl_ms}
        return self._run(_DELETE_IF if new is None else _SWAP, params)[1] == 1

    def _add(self, key: str, amount: int, ttl_ms: int | None) -> int:
        self._maybe_purge()
        rows, _ = self._run(_ADD, {"key": key, "amount": amount, "ttl": ttl_ms})
        if not rows:  # the live value is not a counter; the statement left it alone
            raise ValueError(NOT_A_COUNTER)
        return parse_counter(bytes(rows[0][0]))

    def _delete(self, key: str) -> bool:
        rows, _ = self._run(_DELETE, {"key": key})
        return bool(rows and rows[0][0])

    def purge_expired(self, limit: int | None = None) -> int:
        """Delete expired rows of every namespace in the table; return how many.

        Expired rows are already invisible; this only reclaims space. Store objects also
        do it on their own every half minute, a batch at a time.
        """
        return self._run(_PURGE, {"limit": limit})[1]

    def _maybe_purge(self) -> None:
        with self._purge_lock:
            if time.monotonic() < self._next_purge:
                return
            self._next_purge = time.monotonic() + _PURGE_INTERVAL
        with contextlib.suppress(StoreUnavailable):  # the write that follows will report it
            self.purge_expired(_PURGE_BATCH)

    def _close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r}, namespace={self.namespace!r})"


def _create_table(conn: Any) -> None:
    exists = conn.execute("SELECT to_regclass('cryptorails_store') IS NOT NULL").fetchone()[0]
    if exists:
        return
    # Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; an advisory
    # lock makes the processes that start together take turns.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('cryptorails_store'))")
        for statement in _CREATE:
            conn.execute(statement)


# libpq checks option values before it waits for the server ('invalid sslmode value:
# "bogus"', 'invalid port number: "99999"', 'invalid integer value "x" for connection
# option "keepalives"'); these are configuration errors, not an unreachable server. Only
# the option's name is shown: its value comes from the URL.
_INVALID_OPTION = re.compile(
    r'(?:^|: )invalid (?:integer value .* for connection option "(\w+)"'
    r'|"?(\w+)"? value'
    r"|(port) number)"
)


def _invalid_option(message: str) -> str | None:
    """The option named by a libpq "invalid option value" error, or None if it is not one."""
    match = _INVALID_OPTION.search(message.strip().splitlines()[0] if message.strip() else "")
    if match is None:
        return None
    name = next(group for group in match.groups() if group)
    return f"{name} value"


def _healthy(conn: Any) -> bool:
    return not conn.closed and not conn.broken and conn.info.transaction_status == 0


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()
