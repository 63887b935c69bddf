"""The PostgreSQL side of `SqlColumn` (psycopg 3, imported only when used).

The table is resolved by the server (`to_regclass` over ``format('%I', name)``: the
server quotes the name itself, so the search path decides as it does for the
application), every column is checked in `pg_attribute`, and statements are composed
with `psycopg.sql.Identifier` from the catalog's own names. A batch is written by one
``UPDATE ... FROM unnest(keys, old, new) ... RETURNING key`` (compare-and-swap for all
its rows at once), in the same transaction as the checkpoint row, which is locked
(``FOR UPDATE``) so that two runs of one job cannot interleave their batches.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.keys._sources import (
    PROGRESS_TABLE,
    Finish,
    Outcome,
    Row,
    RowKey,
    Update,
    check_run,
    dump_record,
    load_record,
)
from cryptorails.stores._base import display_url

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresTable"]

# Key column types that page and compare well, and the array cast that carries them.
_KEY_CASTS = {
    "int2": "bigint",
    "int4": "bigint",
    "int8": "bigint",
    "text": "text",
    "varchar": "text",
    "uuid": "uuid",
    "bytea": "bytea",
}
_TABLE = (
    "SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass({name})"
)
_COLUMNS = (
    "SELECT a.attname, bt.typname, a.attnotnull FROM pg_attribute a"
    " JOIN pg_type t ON t.oid = a.atttypid"
    " JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
    " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped"
)
_UNIQUE = (
    "SELECT a.attname FROM pg_index i"
    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
    " WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indnkeyatts = 1"
    " AND i.indpred IS NULL AND i.indexprs IS NULL"
)
# Templates for psycopg.sql: the {} slots take catalog names as sql.Identifier.
_SELECT_FIRST = "SELECT {k}, {v}{extra} FROM {t} ORDER BY {k} LIMIT %s"
_SELECT_ALL = "SELECT {k}, {v}{extra} FROM {t}"
_SELECT_AFTER = "SELECT {k}, {v}{extra} FROM {t} WHERE {k} > %s::{cast} ORDER BY {k} LIMIT %s"
_PROGRESS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} ("
    " job text NOT NULL, tbl text NOT NULL, col text NOT NULL, state text NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, tbl, col))"
)
_PROGRESS_GET = f"SELECT state FROM {PROGRESS_TABLE} WHERE job = %s AND tbl = %s AND col = %s"  # noqa: S608 -- constant table name
_PROGRESS_PUT = (
    f"INSERT INTO {PROGRESS_TABLE} (job, tbl, col, state) VALUES (%s, %s, %s, %s)"  # noqa: S608 -- constant
    " ON CONFLICT (job, tbl, col) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"
)


class PostgresTable:
    """One table column in PostgreSQL: schema checks, paging, batched compare-and-swap."""

    def __init__(
        self,
        url: str,
        table: str,
        column: str,
        key_column: str | None,
        aad_column: str | None,
        tenant_column: str | None,
        timeout: float,
    ) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError:
            raise ConfigurationError(
                "a PostgreSQL source needs psycopg 3: pip install 'cryptorails[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._progress_ready = False
        self._display = display_url(url)
        self.where = self._display
        try:
            self._conn: psycopg.Connection[Any] | None = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(timeout))
            )
        except psycopg.ProgrammingError:
            # libpq may quote the part of the URL it could not parse: the password too.
            raise ConfigurationError(f"malformed PostgreSQL URL {self._display}") from None
        except psycopg.Error as e:
            self._fail(e)
        try:
            self._run("SELECT set_config('lock_timeout', %s, false)", (f"{int(timeout * 1000)}",))
            info = self._conn.info
            port = "" if info.port == 5432 else f":{info.port}"
            self.where = f"postgresql://{quote(info.host, safe='')}{port}/{quote(info.dbname)}"
            self._introspect(sql, table, column, key_column, aad_column, tenant_column)
        except BaseException:
            self.close()
            raise

    def _introspect(
        self,
        sql: Any,
        table: str,
        column: str,
        key_column: str | None,
        aad_column: str | None,
        tenant_column: str | None,
    ) -> None:
        if table.rpartition(".")[2] == PROGRESS_TABLE:
            raise ConfigurationError(f"{PROGRESS_TABLE} holds rewrap checkpoints, not blobs")
        schema, dot, relname = table.rpartition(".")
        # The server quotes the user's text as an identifier: no text of ours is parsed.
        name = "format('%%I.%%I', %s::text, %s::text)" if dot else "format('%%I', %s::text)"
        params = (schema, relname) if dot else (relname,)
        found = self._run(_TABLE.format(name=name), params)
        if not found or found[0][3] not in ("r", "p"):
            raise ConfigurationError(f"no table {table!r} in {self.where}")
        oid, nspname, relname = found[0][0], str(found[0][1]), str(found[0][2])
        self.table = f"{nspname}.{relname}" if dot else relname
        if relname == PROGRESS_TABLE:
            raise ConfigurationError(f"{PROGRESS_TABLE} holds rewrap checkpoints, not blobs")
        columns = {str(n): (str(t), bool(nn)) for n, t, nn in self._run(_COLUMNS, (oid,))}

        def real(label: str, wanted: str) -> str:
            if wanted not in columns:
                raise ConfigurationError(f"table {self.table!r} has no {label} {wanted!r}")
            return wanted

        self.column = real("column", column)
        if columns[self.column][0] != "bytea":
            raise ConfigurationError(
                f"column {self.column!r} is {columns[self.column][0]}, not bytea: sealed "
                "blobs are bytes"
            )
        self.key: str | None = None
        key_type = "int8"
        if key_column is not None:
            self.key = real("key column", key_column)
            key_type, key_notnull = columns[self.key]
            if key_type not in _KEY_CASTS:
                raise ConfigurationError(
                    f"key column {self.key!r} is {key_type}; use an integer, text, uuid or "
                    "bytea column"
                )
            unique = {str(r[0]) for r in self._run(_UNIQUE, (oid,))}
            if self.key not in unique or not key_notnull:
                raise ConfigurationError(
                    f"key column {self.key!r} must be unique and NOT NULL (the primary key, "
                    "or a single-column unique index on a NOT NULL column)"
                )
        self.aad = real("aad column", aad_column) if aad_column is not None else None
        self.tenant = real("tenant column", tenant_column) if tenant_column is not None else None
        t = sql.Identifier(nspname, relname)
        # Without a key column (usage scans only) one streaming query reads the table.
        k = sql.Identifier(self.key) if self.key else sql.SQL("NULL")
        c = sql.Identifier(self.column)
        cast = sql.SQL(_KEY_CASTS[key_type])
        extra = sql.SQL("").join(
            sql.SQL(", {}").format(sql.Identifier(x)) for x in (self.aad, self.tenant) if x
        )
        head = sql.SQL("substring({} from 1 for 6)").format(c)
        self._select = {
            (first, header): sql.SQL(_SELECT_FIRST if first else _SELECT_AFTER).format(
                k=k, v=head if header else c, extra=extra, t=t, cast=cast
            )
            for first in (True, False)
            for header in (True, False)
        }
        self._scan = {
            header: sql.SQL(_SELECT_ALL).format(k=k, v=head if header else c, extra=extra, t=t)
            for header in (True, False)
        }
        self._update = sql.SQL(
            "UPDATE {t} AS target SET {c} = v.new"
            " FROM unnest(%s::{cast}[], %s::bytea[], %s::bytea[]) AS v(k, old, new)"
            " WHERE target.{k} = v.k AND target.{c} = v.old RETURNING target.{k}"
        ).format(t=t, c=c, k=k, cast=cast)
        self._current = sql.SQL("SELECT {k}, {c} FROM {t} WHERE {k} = ANY(%s::{cast}[])").format(
            t=t, c=c, k=k, cast=cast
        )
        self._count = sql.SQL("SELECT count(*) FROM {t}").format(t=t)

    # -- running statements ----------------------------------------------------------------

    def _fail(self, error: Exception) -> NoReturn:
        psycopg = self._psycopg
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, psycopg.errors.InsufficientPrivilege | psycopg.DataError):
            raise ConfigurationError(f"PostgreSQL {self.where}: {text}") from None
        raise StoreUnavailable(f"PostgreSQL {self.where} unavailable: {text}") from None

    def _conn_or_fail(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise ConfigurationError(f"PostgreSQL source {self.where} is closed")
        return self._conn

    def _run(self, statement: Any, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._conn_or_fail().execute(statement, params)
            return cursor.fetchall() if cursor.description is not None else []
        except self._psycopg.Error as e:
            self._fail(e)

    def count(self) -> int:
        return int(self._run(self._count)[0][0])

    def rows(
        self, after: RowKey | None, size: int, *, header_only: bool = False
    ) -> Iterator[list[Row]]:
        if self.key is None:
            yield from self._stream(size, header_only)
            return
        while True:
            params = (size,) if after is None else (after, size)
            fetched = self._run(self._select[after is None, header_only], params)
            if not fetched:
                return
            batch = [self._row(_key(r[0]), r) for r in fetched]
            yield batch
            after = batch[-1].key
            if len(fetched) < size:
                return

    def _row(self, key: RowKey, r: tuple[Any, ...]) -> Row:
        aad = r[2] if self.aad else None
        tenant = (r[3] if self.aad else r[2]) if self.tenant else None
        return Row(key, r[1], aad, tenant)

    def _stream(self, size: int, header_only: bool) -> Iterator[list[Row]]:
        """Every row through a server-side cursor; keys are row numbers of this scan."""
        conn = self._conn_or_fail()
        try:
            with conn.transaction(), conn.cursor(name="cryptorails_usage_scan") as cursor:
                cursor.execute(self._scan[header_only])
                n = 0
                while fetched := cursor.fetchmany(size):
                    yield [self._row(n + i, r) for i, r in enumerate(fetched)]
                    n += len(fetched)
        except self._psycopg.Error as e:
            self._fail(e)

    def _keyed(self) -> None:
        if self.key is None:
            raise ConfigurationError(
                f"rewrapping {self.where}#{self.table}.{self.column} needs a key column (a "
                "unique NOT NULL column to page through and write by)"
            )

    def load_progress(self, job: str) -> dict[str, Any] | None:
        self._keyed()
        try:
            cursor = self._conn_or_fail().execute(_PROGRESS_GET, (job, self.table, self.column))
            row = cursor.fetchone()
        except self._psycopg.errors.UndefinedTable:
            return None
        except self._psycopg.Error as e:
            self._fail(e)
        return None if row is None else load_record(row[0], self.where)

    def commit(
        self, job: str, updates: Sequence[Update], finish: Finish, *, run: str | None
    ) -> list[Outcome]:
        self._keyed()
        psycopg = self._psycopg
        conn = self._conn_or_fail()
        ids = (job, self.table, self.column)
        try:
            if not self._progress_ready:
                # UniqueViolation: a concurrent run created it in the same instant.
                with contextlib.suppress(psycopg.errors.UniqueViolation):
                    conn.execute(_PROGRESS_DDL)
                self._progress_ready = True
            with conn.transaction():
                if run is not None:
                    row = conn.execute(_PROGRESS_GET + " FOR UPDATE", ids).fetchone()
                    check_run(
                        None if row is None else load_record(row[0], self.where),
                        run,
                        job,
                        self.where,
                    )
                outcomes: list[Outcome] = []
                if updates:
                    keys = [u.key for u in updates]
                    done = {
                        _key(r[0])
                        for r in conn.execute(
                            self._update, (keys, [u.old for u in updates], [u.new for u in updates])
                        ).fetchall()
                    }
                    missed = [k for k in keys if k not in done]
                    now: dict[RowKey, object] = {}
                    if missed:
                        now = {_key(r[0]): r[1] for r in conn.execute(self._current, (missed,))}
                    outcomes = [
                        Outcome(True) if k in done else Outcome(False, now.get(k)) for k in keys
                    ]
                conn.execute(_PROGRESS_PUT, (*ids, dump_record(finish(outcomes))))
        except psycopg.Error as e:
            self._fail(e)
        return outcomes

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _key(value: object) -> RowKey:
    """A key as read from PostgreSQL, in the form `RowKey` allows (UUIDs as text)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    assert isinstance(value, int | str | bytes)
    return value
