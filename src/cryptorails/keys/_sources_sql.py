"""`SqlColumn`: sealed blobs in one column of a SQLite or PostgreSQL table.

Identifiers are never taken on trust. The table and every column are looked up in the
database's own catalog (`sqlite_master` and `pragma_table_info`; `pg_class` and
`pg_attribute`, with the table resolved by PostgreSQL itself through `to_regclass` on a
server-side quoted name), and only the names found there are placed, quoted, in the
statements; values always travel as parameters. The key column must be unique and never
NULL (the primary key, a single-column unique index on a NOT NULL column, or SQLite's
rowid), because the run pages through it (``WHERE key > last ORDER BY key``) and writes
by it.

Each batch is written in one transaction with the checkpoint, in the table
`cryptorails_rewrap_progress` of the same database (created on first use), keyed by job
name, table and column: either the batch's new blobs and the checkpoint that counts them
are stored, or neither. Writes are compare-and-swap
(``UPDATE ... SET col = new WHERE key = k AND col = old``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptorails.errors import ConfigurationError, CryptoRailsError, StoreUnavailable
from cryptorails.keys._sources import (
    PROGRESS_TABLE,
    Finish,
    Outcome,
    Row,
    RowKey,
    Update,
    check_job,
    check_run,
    dump_record,
    load_record,
)
from cryptorails.keys._sources_pg import PostgresTable

__all__ = ["SqlColumn"]

_PROGRESS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} ("
    " job TEXT NOT NULL, tbl TEXT NOT NULL, col TEXT NOT NULL, state TEXT NOT NULL,"
    " updated_at TEXT NOT NULL, PRIMARY KEY (job, tbl, col))"
)
_PROGRESS_GET = f"SELECT state FROM {PROGRESS_TABLE} WHERE job = ? AND tbl = ? AND col = ?"  # noqa: S608 -- constant table name
_PROGRESS_PUT = (
    f"INSERT INTO {PROGRESS_TABLE} (job, tbl, col, state, updated_at)"  # noqa: S608 -- constant
    " VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    " ON CONFLICT (job, tbl, col) DO UPDATE SET state = excluded.state,"
    " updated_at = excluded.updated_at"
)


def _quote(name: str) -> str:
    """A SQLite identifier, quoted (SQL:2016 §5.4: double the quote character). Only ever
    applied to names read back from the database's own catalog."""
    return '"' + name.replace('"', '""') + '"'


class SqlColumn:
    """Blobs in `table.column` of a SQLite file or a PostgreSQL database.

    Args:
        url: ``sqlite:///absolute/path.db`` (or ``sqlite:relative.db``), or a libpq URL
            ``postgresql://user@host:port/dbname``.
        table: the table (PostgreSQL: optionally ``schema.table``).
        column: the column holding the sealed blobs (PostgreSQL: ``bytea``).
        key_column: a unique, NOT NULL column to page through and write by. SQLite
            default: ``rowid``. PostgreSQL: required to rewrap; without it the source
            serves usage scans only (one streaming read).
        aad_column: a column whose value's bytes are each blob's aad (see
            `aad_bytes`), typically the record id; default: no aad.
        tenant_column: a column naming each row's tenant; default: one fixed tenant,
            given to `rewrap` / `usage_scan`.
        timeout: seconds to wait for a lock (SQLite busy timeout, PostgreSQL
            ``lock_timeout``) and to connect.

    Raises:
        ConfigurationError: bad URL, no such file/table/column, a key column that is not
            unique and NOT NULL, an unsupported column type.
        StoreUnavailable: the database could not be reached.
    """

    def __init__(
        self,
        url: str,
        table: str,
        column: str,
        *,
        key_column: str | None = None,
        aad_column: str | None = None,
        tenant_column: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        for label, value in (("url", url), ("table", table), ("column", column)):
            if not isinstance(value, str):
                raise TypeError(f"{label} must be a str, not {type(value).__name__}")
        for label, opt in (
            ("key_column", key_column),
            ("aad_column", aad_column),
            ("tenant_column", tenant_column),
        ):
            if opt is not None and not isinstance(opt, str):
                raise TypeError(f"{label} must be a str or None, not {type(opt).__name__}")
        scheme = url.partition(":")[0].lower()
        self._pg: PostgresTable | None = None
        self._conn: sqlite3.Connection | None = None
        if scheme in ("postgresql", "postgres"):
            self._pg = PostgresTable(
                url, table, column, key_column, aad_column, tenant_column, timeout
            )
            self._table, self._column = self._pg.table, self._pg.column
            key, aad, tenant = self._pg.key, self._pg.aad, self._pg.tenant
            self._name = f"{self._pg.where}#{self._table}.{self._column}"
            self._location = self._pg.where
        elif scheme == "sqlite":
            self._path = _sqlite_path(url)
            self._conn = _connect(self._path, timeout)
            try:
                key, aad, tenant = self._introspect(
                    table, column, key_column, aad_column, tenant_column
                )
            except BaseException:
                self.close()
                raise
            self._location = f"sqlite://{self._path}"
            self._name = f"{self._location}#{self._table}.{self._column}"
        else:
            raise ConfigurationError(
                "a table source URL is sqlite:///path or postgresql://user@host:port/dbname"
            )
        self._aad_column = aad
        self._progress_ready = False
        self._tenant_column = tenant
        aad_text = f"column:{aad}" if aad else "none"
        key = key or "none"
        tenant_text = f"column:{tenant}" if tenant else "fixed"
        self._binding = f"key={key} aad={aad_text} tenant={tenant_text}"

    # -- schema (SQLite; PostgreSQL lives in _sources_pg) --------------------------------

    def _introspect(
        self,
        table: str,
        column: str,
        key_column: str | None,
        aad_column: str | None,
        tenant_column: str | None,
    ) -> tuple[str, str | None, str | None]:
        if table.lower() == PROGRESS_TABLE:
            raise ConfigurationError(f"{PROGRESS_TABLE} holds rewrap checkpoints, not blobs")
        conn = self._sqlite()
        found = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
            (table,),
        ).fetchone()
        if found is None or str(found[0]).lower().startswith("sqlite_"):
            raise ConfigurationError(f"no table {table!r} in {self._path}")
        self._table = str(found[0])
        info = conn.execute(
            'SELECT name, "notnull", pk FROM pragma_table_info(?)', (self._table,)
        ).fetchall()
        columns = {str(name).lower(): (str(name), bool(nn), int(pk)) for name, nn, pk in info}

        def real(label: str, name: str) -> str:
            entry = columns.get(name.lower())
            if entry is None:
                raise ConfigurationError(f"table {self._table!r} has no {label} {name!r}")
            return entry[0]

        self._column = real("column", column)
        aad = real("aad column", aad_column) if aad_column is not None else None
        tenant = real("tenant column", tenant_column) if tenant_column is not None else None
        if key_column is None or (key_column.lower() == "rowid" and "rowid" not in columns):
            try:
                conn.execute(f"SELECT rowid FROM {_quote(self._table)} LIMIT 0")  # noqa: S608 -- catalog name, quoted
            except sqlite3.OperationalError:
                raise ConfigurationError(
                    f"table {self._table!r} has no rowid (WITHOUT ROWID): pass key_column"
                ) from None
            key, key_sql = "rowid", "rowid"
        else:
            key = real("key column", key_column)
            _, notnull, pk = columns[key.lower()]
            sole_pk = pk == 1 and sum(1 for c in columns.values() if c[2]) == 1
            if not sole_pk and not self._unique_index(key):
                raise ConfigurationError(
                    f"key column {key!r} is not unique (not the sole primary key, no "
                    "single-column unique index); use rowid"
                )
            if not notnull and not self._never_null(key, sole_pk):
                raise ConfigurationError(
                    f"key column {key!r} may hold NULL; declare it NOT NULL or use rowid"
                )
            key_sql = _quote(key)
        t, c = _quote(self._table), _quote(self._column)
        extra = "".join(f", {_quote(x)}" for x in (aad, tenant) if x is not None)
        head = f"substr({c}, 1, 6)"
        # Every name below was read back from the catalog and is quoted.
        self._select = {
            (first, header): (
                f"SELECT {key_sql}, {head if header else c}{extra} FROM {t}"  # noqa: S608
                f"{'' if first else f' WHERE {key_sql} > ?'} ORDER BY {key_sql} LIMIT ?"
            )
            for first in (True, False)
            for header in (True, False)
        }
        self._update = f"UPDATE {t} SET {c} = ? WHERE {key_sql} = ? AND {c} = ?"  # noqa: S608
        self._current = f"SELECT {c} FROM {t} WHERE {key_sql} = ?"  # noqa: S608
        self._count = f"SELECT count(*) FROM {t}"  # noqa: S608
        return key, aad, tenant

    def _unique_index(self, key: str) -> bool:
        conn = self._sqlite()
        for name, unique, partial in conn.execute(
            'SELECT name, "unique", partial FROM pragma_index_list(?)', (self._table,)
        ).fetchall():
            if unique and not partial:
                cols = conn.execute("SELECT name FROM pragma_index_info(?)", (name,)).fetchall()
                if len(cols) == 1 and cols[0][0] is not None and cols[0][0].lower() == key.lower():
                    return True
        return False

    def _never_null(self, key: str, sole_pk: bool) -> bool:
        """An INTEGER PRIMARY KEY is the rowid; a WITHOUT ROWID table's key is NOT NULL."""
        if not sole_pk:
            return False
        row = (
            self._sqlite()
            .execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (self._table,)
            )
            .fetchone()
        )
        sql = " ".join(str(row[0] if row else "").upper().split())
        if "WITHOUT ROWID" in sql:
            return True
        types = (
            self._sqlite()
            .execute("SELECT type FROM pragma_table_info(?) WHERE name = ?", (self._table, key))
            .fetchone()
        )
        return types is not None and str(types[0]).upper() == "INTEGER"

    def _sqlite(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ConfigurationError(f"source {self._name} is closed")
        return self._conn

    def _fail(self, error: sqlite3.Error) -> CryptoRailsError:
        if "readonly" in str(error):  # the file or its folder is not writable for us
            return ConfigurationError(f"SQLite database {self._path} is read-only: {error}")
        return StoreUnavailable(f"SQLite database {self._path}: {error}")

    # -- BlobSource ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._location

    @property
    def binding(self) -> str:
        return self._binding

    @property
    def per_row_tenant(self) -> bool:
        return self._tenant_column is not None

    @property
    def table(self) -> str:
        """The table's name as the catalog spells it."""
        return self._table

    @property
    def column(self) -> str:
        """The blob column's name as the catalog spells it."""
        return self._column

    def count(self) -> int:
        if self._pg is not None:
            return self._pg.count()
        try:
            return int(self._sqlite().execute(self._count).fetchone()[0])
        except sqlite3.Error as e:
            raise self._fail(e) from None

    def rows(
        self, after: RowKey | None, size: int, *, header_only: bool = False
    ) -> Iterator[list[Row]]:
        if self._pg is not None:
            yield from self._pg.rows(after, size, header_only=header_only)
            return
        conn = self._sqlite()
        while True:
            params: tuple[Any, ...] = (size,) if after is None else (after, size)
            try:
                fetched = conn.execute(self._select[after is None, header_only], params).fetchall()
            except sqlite3.Error as e:
                raise self._fail(e) from None
            if not fetched:
                return
            if self._aad_column is None and self._tenant_column is None:
                batch = [Row(r[0], r[1]) for r in fetched]
            else:
                batch = [Row(r[0], r[1], *_extras(r, self)) for r in fetched]
            yield batch
            after = batch[-1].key
            if len(fetched) < size:
                return

    def load_progress(self, job: str) -> dict[str, Any] | None:
        check_job(job)
        if self._pg is not None:
            return self._pg.load_progress(job)
        try:
            row = self._sqlite().execute(_PROGRESS_GET, (job, self._table, self._column)).fetchone()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return None
            raise self._fail(e) from None
        except sqlite3.Error as e:
            raise self._fail(e) from None
        return None if row is None else load_record(row[0], self._name)

    def save_progress(self, job: str, record: dict[str, Any], *, run: str | None) -> None:
        check_job(job)
        self.commit(job, (), lambda _: record, run=run)

    def commit(
        self, job: str, updates: Sequence[Update], finish: Finish, *, run: str | None
    ) -> list[Outcome]:
        check_job(job)
        if self._pg is not None:
            return self._pg.commit(job, updates, finish, run=run)
        conn = self._sqlite()
        ids = (job, self._table, self._column)
        try:
            if not self._progress_ready:
                conn.execute(_PROGRESS_DDL)
                self._progress_ready = True
            # IMMEDIATE takes the write lock before the first read, so the check of the
            # run and the writes see one state.
            conn.execute("BEGIN IMMEDIATE")
            try:
                if run is not None:
                    row = conn.execute(_PROGRESS_GET, ids).fetchone()
                    check_run(
                        None if row is None else load_record(row[0], self._name),
                        run,
                        job,
                        self._name,
                    )
                outcomes = []
                for u in updates:
                    if conn.execute(self._update, (u.new, u.key, u.old)).rowcount == 1:
                        outcomes.append(Outcome(True))
                    else:
                        found = conn.execute(self._current, (u.key,)).fetchone()
                        outcomes.append(Outcome(False, None if found is None else found[0]))
                conn.execute(_PROGRESS_PUT, (*ids, dump_record(finish(outcomes))))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise self._fail(e) from None
        return outcomes

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SqlColumn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _extras(row: Sequence[Any], source: SqlColumn) -> tuple[object, object]:
    """(aad, tenant) raw values of a fetched row, None where the source has no column."""
    rest = list(row[2:])
    aad = rest.pop(0) if source._aad_column is not None else None
    tenant = rest.pop(0) if source._tenant_column is not None else None
    return aad, tenant


def _sqlite_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment or not parts.path:
        raise ConfigurationError(
            "a SQLite source URL is sqlite:///absolute/path or sqlite:relative/path "
            "(no host, query or fragment)"
        )
    path = Path(os.path.abspath(unquote(parts.path)))
    if not path.is_file():
        raise ConfigurationError(f"no SQLite database file at {path}")
    return path


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    # mode=rw: never create a database that is not there (a typo would otherwise make an
    # empty file, and an empty table reads as "nothing uses this key").
    uri = f"file:{quote(str(path))}?mode={'rw' if os.access(path, os.W_OK) else 'ro'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as e:
        raise ConfigurationError(f"cannot open SQLite database {path}: {e}") from None
    return conn
