"""Rewrap after rotation, on real SQLite and PostgreSQL tables and a real directory.

The promises under test: every row ends under the new primary with its plaintext and aad
binding unchanged; a row the application changes meanwhile is never overwritten; a row
that does not open is counted and left byte-for-byte as it was; a stopped run resumes
after its last committed batch without redoing it; identifiers come from the schema.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from cryptorails import ConfigurationError, Context, DecryptionError, Reason, Sealer
from cryptorails.aead import read_header
from cryptorails.keys import Keyring, KeyState, Ledger
from cryptorails.keys._rewrap import RewrapReport, rewrap, usage_scan
from cryptorails.keys._sources import BlobSource, Finish, Outcome, Update, open_source
from cryptorails.keys._sources_dir import FileDirectory
from cryptorails.keys._sources_sql import SqlColumn

CTX = Context("tenant-a", "email")
PURPOSE = "email"


class Db:
    """One real database (SQLite file or PostgreSQL) with tables unique to the test."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind, self.url = kind, url
        self.tables: list[str] = []
        if kind == "sqlite":
            self._conn: Any = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)
            self.p = "?"
        else:
            import psycopg

            self._conn = psycopg.connect(url, autocommit=True)
            self.p = "%s"

    def table(self, columns: str, prefix: str = "rw") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.exec(f'CREATE TABLE "{name}" ({columns})')
        self.tables.append(name)
        return name

    def exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql.replace("?", self.p), tuple(params))

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self._conn.execute(sql.replace("?", self.p), tuple(params)).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    def blob_type(self) -> str:
        return "BLOB" if self.kind == "sqlite" else "bytea"

    def close(self) -> None:
        for name in self.tables:
            quoted = name.replace('"', '""')
            self.exec(f'DROP TABLE IF EXISTS "{quoted}"')
            if self.kind == "postgres" and self.fetch(
                "SELECT to_regclass('cryptorails_rewrap_progress') IS NOT NULL"
            ) == [(True,)]:
                self.exec("DELETE FROM cryptorails_rewrap_progress WHERE tbl = ?", (name,))
        self._conn.close()


def interrupt_after(batches: int) -> Callable[[int], None]:
    """A progress callback that stops the run (as Ctrl-C would) at its `batches`-th call."""
    calls: list[int] = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == batches:
            raise KeyboardInterrupt

    return progress


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        sqlite3.connect(path).close()
        url = f"sqlite://{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Db(request.param, url)
    yield database
    database.close()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.in_memory("prod")


@pytest.fixture
def sealer(keyring: Keyring) -> Sealer:
    return Sealer(keyring)


def users(db: Db, sealer: Sealer, n: int, ctx: Context = CTX) -> str:
    """A table (id, email) of `n` rows sealed for `ctx` with aad = the id."""
    table = db.table(f"id INTEGER PRIMARY KEY, email {db.blob_type()}")
    for i in range(1, n + 1):
        blob = sealer.seal(f"user{i}@example.com".encode(), ctx, aad=str(i).encode())
        db.exec(f'INSERT INTO "{table}" (id, email) VALUES (?, ?)', (i, blob))
    return table


def column(db: Db, table: str, **options: Any) -> SqlColumn:
    if db.kind == "postgres":
        options.setdefault("key_column", "id")
    return SqlColumn(db.url, table, "email", **options)


def blobs(db: Db, table: str, col: str = "email") -> dict[int, Any]:
    return dict(db.fetch(f'SELECT id, "{col}" FROM "{table}" ORDER BY id'))


def kid_of(blob: bytes) -> int:
    header = read_header(blob)
    assert header is not None
    return header.kid


# -- moving the data -------------------------------------------------------------------


def test_rewrap_moves_every_row_to_the_new_primary(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 25)
    old = sealer.keyring.keyset(CTX).primary.kid
    new = sealer.keyring.rotate(CTX)
    with column(db, table, aad_column="id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=10)
        assert (report.rows_scanned, report.rewrapped, report.already_current) == (25, 25, 0)
        assert report.kids_before == {old: 25}
        assert report.kids_after == {new: 25}
        assert report.failed == {}
        assert report.complete
        assert report.resumed_from is None
        for i, blob in blobs(db, table).items():
            assert kid_of(blob) == new
            assert sealer.open(blob, CTX, aad=str(i).encode()) == f"user{i}@example.com".encode()
        # The next pass starts afresh, finds every row current and decrypts nothing.
        again = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=10)
    assert (again.rows_scanned, again.rewrapped, again.already_current) == (25, 0, 25)
    assert again.kids_before == again.kids_after == {new: 25}


def test_rewrap_moves_rows_off_a_compromised_key(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 4)
    old = sealer.keyring.keyset(CTX).primary.kid
    sealer.keyring.set_state(CTX, old, KeyState.COMPROMISED)  # replaced by a new primary
    new = sealer.keyring.keyset(CTX).primary.kid
    with column(db, table, aad_column="id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    assert report.rewrapped == 4
    assert {kid_of(b) for b in blobs(db, table).values()} == {new}
    assert sealer.open(blobs(db, table)[3], CTX, aad=b"3") == b"user3@example.com"


def test_aad_column_is_bound_per_row(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 3)
    sealer.keyring.rotate(CTX)
    with column(db, table, aad_column="id") as source:
        rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    moved = blobs(db, table)
    # A blob copied to another record does not open there: the id is still bound.
    with pytest.raises(DecryptionError) as e:
        sealer.open(moved[1], CTX, aad=b"2")
    assert e.value.reason is Reason.AUTHENTICATION_FAILED
    # And rewrap itself refuses a blob that sits under another record's id.
    db.exec(f'UPDATE "{table}" SET email = ? WHERE id = 3', (moved[1],))
    sealer.keyring.rotate(CTX)
    with column(db, table, aad_column="id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    assert report.rewrapped == 2
    assert report.failed == {Reason.AUTHENTICATION_FAILED: 1}
    assert report.failed_samples == {Reason.AUTHENTICATION_FAILED: (3,)}
    assert blobs(db, table)[3] == moved[1]


def test_tenant_column_gives_each_row_its_keyset(db: Db, sealer: Sealer) -> None:
    table = db.table(f"id INTEGER PRIMARY KEY, org TEXT, email {db.blob_type()}")
    a, b = Context("org-a", PURPOSE), Context("org-b", PURPOSE)
    rows = [(1, "org-a", a), (2, "org-b", b), (3, "org-a", a), (4, "org-b", a), (5, "", a)]
    for i, org, ctx in rows:
        blob = sealer.seal(b"secret %d" % i, ctx, aad=str(i).encode())
        db.exec(f'INSERT INTO "{table}" VALUES (?, ?, ?)', (i, org, blob))
    db.exec(f'INSERT INTO "{table}" VALUES (6, ?, ?)', ("ghost", blobs(db, table)[1]))
    before = blobs(db, table)
    new_a, new_b = sealer.keyring.rotate(a), sealer.keyring.rotate(b)
    source = column(db, table, aad_column="id", tenant_column="org")
    with source:
        assert source.per_row_tenant
        with pytest.raises(ConfigurationError, match="do not pass tenant"):
            rewrap(sealer, source, purpose=PURPOSE, tenant="org-a")
        report = rewrap(sealer, source, purpose=PURPOSE)
    after = blobs(db, table)
    assert report.rewrapped == 3
    # Row 4 names org-b but was sealed for org-a: its kid is unknown in org-b's keyset.
    # Row 5 names no valid tenant; row 6 names a tenant without a keyset.
    assert report.failed == {Reason.UNKNOWN_KEY: 2, Reason.UNKNOWN_TENANT: 1}
    assert sorted(report.failed_samples[Reason.UNKNOWN_KEY]) == [4, 6]
    assert report.usage_after[a] == {new_a: 2}
    assert report.usage_after[b][new_b] == 1
    for i in (4, 5, 6):
        assert after[i] == before[i]
    assert sealer.open(after[2], b, aad=b"2") == b"secret 2"
    # No keyset was created for the unknown tenant.
    assert sealer.keyring.find_keyset(Context("ghost", PURPOSE)) is None


def test_failed_rows_are_counted_by_reason_and_left_untouched(db: Db, sealer: Sealer) -> None:
    keyring = sealer.keyring
    table = db.table(f"id INTEGER PRIMARY KEY, email {db.blob_type()}")
    doomed = keyring.keyset(CTX).primary.kid
    values: list[Any] = [
        sealer.seal(b"gone", CTX),  # 1: its key is destroyed below
        b"\x01\x01",  # 2: too short to be a blob
        b"not a sealed blob at all",  # 3: no cryptorails header
        None,  # 4: NULL
    ]
    keyring.rotate(CTX)
    values.append(sealer.seal(b"ok", CTX))  # 5: under the key that becomes active
    keyring.rotate(CTX)
    keyring.set_state(CTX, doomed, KeyState.DISABLED)
    keyring.set_state(CTX, doomed, KeyState.DESTROYED)
    for i, value in enumerate(values, 1):
        db.exec(f'INSERT INTO "{table}" VALUES (?, ?)', (i, value))
    before = blobs(db, table)
    with column(db, table) as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=2)
    assert report.rows_scanned == 5
    assert report.null_values == 1
    assert report.rewrapped == 1
    assert report.failed == {
        Reason.KEY_DESTROYED: 1,
        Reason.MALFORMED: 1,
        Reason.UNSUPPORTED_VERSION: 1,
    }
    assert report.failed_samples[Reason.KEY_DESTROYED] == (1,)
    assert not report.complete
    after = blobs(db, table)
    assert [after[i] for i in (1, 2, 3, 4)] == [before[i] for i in (1, 2, 3, 4)]
    assert sealer.open(after[5], CTX) == b"ok"


def test_sqlite_value_of_another_type_is_counted_not_crashed(
    tmp_path: Path, sealer: Sealer
) -> None:
    path = tmp_path / "loose.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, email)")
    conn.execute("INSERT INTO t VALUES (1, 'text, not bytes'), (2, 42), (3, ?)", (b"x" * 40,))
    with SqlColumn(f"sqlite://{path}", "t", "email") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    assert report.failed == {Reason.WRONG_TYPE: 2, Reason.UNSUPPORTED_VERSION: 1}
    assert conn.execute("SELECT email FROM t ORDER BY id").fetchall() == [
        ("text, not bytes",),
        (42,),
        (b"x" * 40,),
    ]


# -- concurrency and resumption ----------------------------------------------------------


class Meddling:
    """A real source whose first commit is preceded by an application write to one row."""

    def __init__(self, inner: SqlColumn, write: Callable[[], None]) -> None:
        self.inner, self.write = inner, write

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def location(self) -> str:
        return self.inner.location

    @property
    def binding(self) -> str:
        return self.inner.binding

    @property
    def per_row_tenant(self) -> bool:
        return self.inner.per_row_tenant

    def commit(
        self, job: str, updates: Sequence[Update], finish: Finish, *, run: str
    ) -> list[Outcome]:
        if updates:
            self.write()
            self.write = lambda: None
        return self.inner.commit(job, updates, finish, run=run)


@pytest.mark.parametrize("under", ["new", "old"])
def test_a_row_changed_between_read_and_write_is_not_overwritten(
    db: Db, sealer: Sealer, under: str
) -> None:
    table = users(db, sealer, 6)
    stale = Sealer(Keyring.in_memory("prod"))  # another app instance, other keys
    sealer.keyring.rotate(CTX)
    app_value = (
        sealer.seal(b"changed by the app", CTX, aad=b"2")
        if under == "new"
        else stale.seal(b"changed by a stale app", CTX, aad=b"2")
    )

    def app_write() -> None:
        db.exec(f'UPDATE "{table}" SET email = ? WHERE id = 2', (app_value,))

    source = Meddling(column(db, table, aad_column="id"), app_write)
    assert isinstance(source, BlobSource)
    report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    source.close()
    assert blobs(db, table)[2] == app_value
    assert (report.rewrapped, report.changed_meanwhile) == (5, 1)
    assert report.changed_not_current == (0 if under == "new" else 1)
    assert report.complete is (under == "new")


def test_interrupted_run_resumes_after_its_last_batch(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 50)
    old = sealer.keyring.keyset(CTX).primary.kid
    new = sealer.keyring.rotate(CTX)
    stop_after_two_batches = interrupt_after(2)

    with column(db, table, aad_column="id") as source:
        with pytest.raises(KeyboardInterrupt):
            rewrap(
                sealer,
                source,
                purpose=PURPOSE,
                tenant="tenant-a",
                batch_size=10,
                progress=stop_after_two_batches,
                job="nightly",
            )
        half = blobs(db, table)
        assert [kid_of(half[i]) for i in range(1, 51)] == [new] * 20 + [old] * 30
        record = source.load_progress("nightly")
        assert record is not None
        assert record["done"] is False
        assert record["tally"]["rewrapped"] == 20

        seen: list[int] = []
        report = rewrap(
            sealer,
            source,
            purpose=PURPOSE,
            tenant="tenant-a",
            batch_size=10,
            progress=seen.append,
            job="nightly",
        )
        assert seen == [20, 10, 10, 10]  # the rows done before, then this run's batches
        assert report.resumed_from == 20
        assert report.scanned_this_run == 30
        assert (report.rows_scanned, report.rewrapped, report.already_current) == (50, 50, 0)
        assert report.kids_before == {old: 50}
        assert report.kids_after == {new: 50}
        done = blobs(db, table)
        # The first 20 rows were not rewritten again.
        assert all(done[i] == half[i] for i in range(1, 21))
        assert {kid_of(b) for b in done.values()} == {new}
        record = source.load_progress("nightly")
        assert record is not None
        assert record["done"] is True
        # Another job name has its own checkpoint.
        assert source.load_progress("other") is None


def test_a_pass_over_current_rows_counts_each_row_once_after_a_stop(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 20)  # under the primary already: nothing to write
    old = sealer.keyring.keyset(CTX).primary.kid
    for i in range(21, 31):
        db.exec(
            f'INSERT INTO "{table}" VALUES (?, ?)', (i, sealer.seal(b"late", CTX, aad=b"%d" % i))
        )
    new = sealer.keyring.rotate(CTX)
    for i in range(1, 21):  # rows 1-20 move to the new key as an application would
        db.exec(
            f'UPDATE "{table}" SET email = ? WHERE id = ?',
            (sealer.seal(b"v", CTX, aad=b"%d" % i), i),
        )
    stop_after_two = interrupt_after(2)

    with column(db, table, aad_column="id") as source:
        with pytest.raises(KeyboardInterrupt):
            rewrap(
                sealer,
                source,
                purpose=PURPOSE,
                tenant="tenant-a",
                batch_size=10,
                progress=stop_after_two,
            )
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=10)
    # Batches that wrote nothing may not have been checkpointed; rereading them is cheap
    # and they are counted once.
    assert (report.rows_scanned, report.already_current, report.rewrapped) == (30, 20, 10)
    assert report.kids_before == {new: 20, old: 10}
    assert report.kids_after == {new: 30}


def test_resume_refuses_other_settings_unless_restarted(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 30)
    sealer.keyring.rotate(CTX)

    stop = interrupt_after(1)
    with column(db, table, aad_column="id") as source, pytest.raises(KeyboardInterrupt):
        rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=10, progress=stop)
    other_settings = pytest.raises(ConfigurationError, match="stopped part-way with other settings")
    with column(db, table) as source, other_settings:
        rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    with column(db, table, aad_column="id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", restart=True)
    assert report.resumed_from is None
    assert (report.rewrapped, report.already_current) == (20, 10)


def test_a_run_taken_over_by_another_stops_without_harm(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 30)
    new = sealer.keyring.rotate(CTX)
    second: list[RewrapReport] = []

    def meanwhile(n: int) -> None:
        if not second:  # after the first batch, a second run of the same job starts
            with column(db, table, aad_column="id") as other:
                second.append(rewrap(sealer, other, purpose=PURPOSE, tenant="tenant-a"))

    taken_over = pytest.raises(ConfigurationError, match="taken over by another run")
    with column(db, table, aad_column="id") as source, taken_over:
        rewrap(
            sealer,
            source,
            purpose=PURPOSE,
            tenant="tenant-a",
            batch_size=10,
            progress=meanwhile,
        )
    # The second run took the unfinished pass over where the first had committed it.
    assert second[0].resumed_from == 10
    assert (second[0].scanned_this_run, second[0].rewrapped) == (20, 30)
    assert {kid_of(b) for b in blobs(db, table).values()} == {new}


# -- usage scans and the ledger ------------------------------------------------------------


def test_usage_scan_counts_headers_and_records_in_the_ledger(
    db: Db, sealer: Sealer, tmp_path: Path
) -> None:
    table = users(db, sealer, 7)
    old = sealer.keyring.keyset(CTX).primary.kid
    new = sealer.keyring.rotate(CTX)
    db.exec(
        f'INSERT INTO "{table}" VALUES (8, ?), (9, NULL), (10, ?)',
        (sealer.seal(b"x", CTX, aad=b"8"), b"junk"),
    )
    ledger = Ledger.open(f"sqlite://{tmp_path / 'ledger.db'}")
    with column(db, table) as source:
        found = usage_scan(
            source, purpose=PURPOSE, tenant="tenant-a", ledger=ledger, environment="prod"
        )
        assert found == {CTX: {old: 7, new: 1}}
        [usage] = ledger.usage("prod", CTX)
        assert (usage.dataset, dict(usage.kids), usage.kind) == (
            source.name,
            {old: 7, new: 1},
            "dataset",
        )
    with column(db, table, aad_column="id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", ledger=ledger)
        assert report.failed == {Reason.MALFORMED: 1}  # the 4-byte junk row
        [usage] = ledger.usage("prod", CTX)
        assert dict(usage.kids) == {new: 8}
    ledger.close()


def test_postgres_dataset_name_has_no_credentials(postgres_url: str, sealer: Sealer) -> None:
    db = Db("postgres", postgres_url)
    try:
        table = users(db, sealer, 2)
        secret_url = postgres_url.replace("postgres@", "postgres:s3cret-pw@", 1)
        assert "s3cret-pw" in secret_url
        with SqlColumn(secret_url, table, "email") as source:  # no key: scans only
            assert "s3cret" not in source.name
            assert source.name.startswith("postgresql://")
            assert source.name.endswith(f"#{table}.email")
            assert usage_scan(source, purpose=PURPOSE, tenant="tenant-a", batch_size=1) == {
                CTX: {sealer.keyring.keyset(CTX).primary.kid: 2}
            }
            with pytest.raises(ConfigurationError, match="needs a key column"):
                rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    finally:
        db.close()


def test_tenant_arguments_must_match_the_source(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 1)
    with column(db, table) as source:
        with pytest.raises(ConfigurationError, match="pass tenant="):
            rewrap(sealer, source, purpose=PURPOSE)
        with pytest.raises(ConfigurationError, match="pass tenant="):
            usage_scan(source, purpose=PURPOSE)
        with pytest.raises(ValueError, match="batch_size"):
            rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=0)
        with pytest.raises(ValueError, match="job"):
            rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", job="../etc")
        with pytest.raises(TypeError):
            rewrap(object(), source, purpose=PURPOSE, tenant="tenant-a")  # type: ignore[arg-type]


# -- identifiers -------------------------------------------------------------------------


def test_identifiers_come_from_the_schema(db: Db, sealer: Sealer) -> None:
    table = users(db, sealer, 2)
    for bad in (f"{table}; DROP TABLE {table}", f'{table}" --', "no_such_table", ""):
        with pytest.raises(ConfigurationError, match="no table"):
            SqlColumn(db.url, bad, "email", key_column="id")
    with pytest.raises(ConfigurationError, match="has no column"):
        SqlColumn(db.url, table, "email = email; --", key_column="id")
    with pytest.raises(ConfigurationError, match="has no aad column"):
        SqlColumn(db.url, table, "email", key_column="id", aad_column="nope")
    with pytest.raises(ConfigurationError, match="has no tenant column"):
        SqlColumn(db.url, table, "email", key_column="id", tenant_column="org")
    with pytest.raises(ConfigurationError, match="holds rewrap checkpoints"):
        SqlColumn(db.url, "cryptorails_rewrap_progress", "state", key_column="job")
    assert len(blobs(db, table)) == 2


def test_key_column_must_be_unique_and_not_null(db: Db, sealer: Sealer) -> None:
    table = db.table(f"id INTEGER PRIMARY KEY, n INTEGER, u INTEGER UNIQUE, email {db.blob_type()}")
    with pytest.raises(ConfigurationError, match="unique"):
        SqlColumn(db.url, table, "email", key_column="n")
    if db.kind == "sqlite":
        with pytest.raises(ConfigurationError, match="may hold NULL"):
            SqlColumn(db.url, table, "email", key_column="u")
    else:
        with pytest.raises(ConfigurationError, match="unique and NOT NULL"):
            SqlColumn(db.url, table, "email", key_column="u")
    SqlColumn(db.url, table, "email", key_column="id").close()


def test_quoted_names_are_used_exactly(db: Db, sealer: Sealer) -> None:
    name = f'odd "name" {uuid.uuid4().hex[:6]}'
    quoted = name.replace('"', '""')
    db.exec(f'CREATE TABLE "{quoted}" ("my id" INTEGER PRIMARY KEY, "the blob" {db.blob_type()})')
    db.tables.append(name)
    db.exec(f'INSERT INTO "{quoted}" VALUES (1, ?)', (sealer.seal(b"v", CTX, aad=b"1"),))
    new = sealer.keyring.rotate(CTX)
    with SqlColumn(db.url, name, "the blob", key_column="my id", aad_column="my id") as source:
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a")
    assert report.rewrapped == 1
    [(blob,)] = db.fetch(f'SELECT "the blob" FROM "{quoted}"')
    assert kid_of(blob) == new


def test_sqlite_source_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(ConfigurationError, match="no SQLite database"):
        SqlColumn(f"sqlite://{missing}", "users", "email")
    assert not missing.exists()
    with pytest.raises(ConfigurationError, match="table source URL"):
        SqlColumn("mysql://h/db", "users", "email")
    conn = sqlite3.connect(tmp_path / "wr.db")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID")
    conn.close()
    with pytest.raises(ConfigurationError, match="WITHOUT ROWID"):
        SqlColumn(f"sqlite://{tmp_path / 'wr.db'}", "t", "v")
    SqlColumn(f"sqlite://{tmp_path / 'wr.db'}", "t", "v", key_column="k").close()


def test_postgres_blob_column_must_be_bytea(postgres_url: str) -> None:
    db = Db("postgres", postgres_url)
    try:
        table = db.table("id bigint PRIMARY KEY, email text")
        with pytest.raises(ConfigurationError, match="not bytea"):
            SqlColumn(postgres_url, table, "email", key_column="id")
    finally:
        db.close()


def test_open_source_specs(tmp_path: Path, sealer: Sealer) -> None:
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, org TEXT, email BLOB)")
    conn.close()
    source = open_source(f"sqlite:{path}#users.email,tenant=org,aad=id")
    assert isinstance(source, SqlColumn)
    assert source.name == f"sqlite://{path}#users.email"
    assert source.binding == "key=rowid aad=column:id tenant=column:org"
    source.close()
    (tmp_path / "blobs").mkdir()
    with open_source(f"dir:{tmp_path / 'blobs'}#*.bin") as directory:  # type: ignore[attr-defined]
        assert directory.name == f"dir:{tmp_path / 'blobs'}#*.bin"
    for bad in (f"sqlite:{path}", f"sqlite:{path}#users", f"sqlite:{path}#users.email,x=1", "dir:"):
        with pytest.raises(ConfigurationError):
            open_source(bad)


# -- directories -------------------------------------------------------------------------


def test_directory_source_rewraps_files_atomically(tmp_path: Path, sealer: Sealer) -> None:
    folder = tmp_path / "blobs"
    folder.mkdir()
    for i in range(7):
        (folder / f"doc{i}.bin").write_bytes(
            sealer.seal(b"doc %d" % i, CTX, aad=f"doc{i}.bin".encode())
        )
    os.chmod(folder / "doc0.bin", 0o640)
    (folder / "notes.txt").write_bytes(sealer.seal(b"not matched", CTX))
    outside = tmp_path / "outside.bin"
    outside.write_bytes(sealer.seal(b"outside", CTX, aad=b"link.bin"))
    (folder / "link.bin").symlink_to(outside)
    (folder / "sub.bin").mkdir()
    keep_outside, keep_notes = outside.read_bytes(), (folder / "notes.txt").read_bytes()
    new = sealer.keyring.rotate(CTX)
    stop_once = interrupt_after(1)

    with FileDirectory(folder, "*.bin", aad_from_name=True) as source:
        assert source.count() == 7
        with pytest.raises(KeyboardInterrupt):
            rewrap(
                sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=3, progress=stop_once
            )
        report = rewrap(sealer, source, purpose=PURPOSE, tenant="tenant-a", batch_size=3)
    assert report.resumed_from == "doc2.bin"
    assert (report.rows_scanned, report.rewrapped, report.already_current) == (7, 7, 0)
    for i in range(7):
        blob = (folder / f"doc{i}.bin").read_bytes()
        assert kid_of(blob) == new
        assert sealer.open(blob, CTX, aad=f"doc{i}.bin".encode()) == b"doc %d" % i
    assert (folder / "doc0.bin").stat().st_mode & 0o777 == 0o640
    assert outside.read_bytes() == keep_outside  # the link was not followed
    assert (folder / "link.bin").is_symlink()
    assert (folder / "notes.txt").read_bytes() == keep_notes
    checkpoint = json.loads((folder / ".cryptorails-rewrap-default.json").read_text())
    assert checkpoint["done"] is True
    assert not [p for p in folder.iterdir() if p.name.startswith(".cryptorails-tmp-")]


def test_directory_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(ConfigurationError, match="symbolic link"):
        FileDirectory(tmp_path / "alias")
    with pytest.raises(ConfigurationError, match="cannot use directory"):
        FileDirectory(tmp_path / "missing")
    with pytest.raises(ValueError, match="pattern"):
        FileDirectory(tmp_path / "real", "../*")
