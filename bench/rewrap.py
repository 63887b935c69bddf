"""Rewrap benchmark: one pass over 100,000 sealed rows after a rotation, and a usage scan.

A table ``users(id INTEGER PRIMARY KEY, email BLOB)`` holds 100,000 blobs sealed with
XAES-256-GCM for one keyset, each a ~100-byte plaintext bound to its row id (aad). The
keyset is rotated, then, in order and timed once each (a rewrap pass changes the data,
so it cannot be repeated on the same rows; the figures are single runs, not minima):

- usage scan: `usage_scan` (headers only: the first 6 bytes of each value) before the
  pass;
- rewrap: `rewrap(..., batch_size=1000)`: every row opened, sealed under the new primary
  and written back with compare-and-swap, 1,000 rows and one checkpoint per transaction;
- second pass: `rewrap` again: every row is current, none decrypted;
- floor: `Sealer.rewrap` over the same 100,000 blobs in memory, no database: the
  cryptographic work alone, which the ratios are taken against.

On SQLite (a file in a temporary directory, the default ``synchronous`` of a rollback
journal: one fsync per committed batch) and on PostgreSQL when one answers
(``CRYPTORAILS_BENCH_POSTGRES``, default ``postgresql://postgres@127.0.0.1:5432/test``;
a table unique to the run, dropped afterwards). ``--quick`` uses 10,000 rows.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cryptorails import Context, Keyring, Sealer
from cryptorails.keys._rewrap import rewrap, usage_scan
from cryptorails.keys._sources_sql import SqlColumn

from ._harness import Settings, benchmark, format_ratio, version_of

__all__ = ["run"]

ROWS = 100_000
QUICK_ROWS = 10_000
BATCH = 1000
SEED = 20240601
CTX = Context("tenant-bench", "user-record")
POSTGRES_URL = os.environ.get(
    "CRYPTORAILS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _plaintexts(n: int) -> list[bytes]:
    """~100-byte records (an email address and a profile line), from a fixed seed."""
    rng = random.Random(SEED)
    words = ["alpha", "delta", "orbit", "cedar", "maple", "quartz", "harbor", "lumen"]
    out = []
    for i in range(n):
        line = f"user{i}.{rng.choice(words)}@example.com|{' '.join(rng.choices(words, k=9))}"
        out.append(line.encode().ljust(100, b".")[:100])
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@contextmanager
def _sqlite_table(directory: Path, rows: list[tuple[int, bytes]]) -> Iterator[str]:
    path = directory / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email BLOB)")
    conn.executemany("INSERT INTO users VALUES (?, ?)", rows)
    conn.commit()
    conn.close()
    yield f"sqlite://{path}"


@contextmanager
def _postgres_table(rows: list[tuple[int, bytes]]) -> Iterator[tuple[str, str]]:
    import psycopg

    table = f"bench_rewrap_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, email bytea)")
        try:
            with conn.cursor() as cur, cur.copy(f"COPY {table} (id, email) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.execute(f"ANALYZE {table}")
            yield POSTGRES_URL, table
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            if conn.execute("SELECT to_regclass('cryptorails_rewrap_progress')").fetchone()[0]:
                conn.execute("DELETE FROM cryptorails_rewrap_progress WHERE tbl = %s", (table,))


def _measure(sealer: Sealer, source: SqlColumn, n: int, old: int, new: int) -> dict[str, Any]:
    """Scan, rewrap, rescan and a second pass on one source; checks the outcome."""
    scan_s, before = _timed(lambda: usage_scan(source, purpose=CTX.purpose, tenant=CTX.tenant))
    assert dict(before[CTX]) == {old: n}, before
    pass_s, report = _timed(
        lambda: rewrap(sealer, source, purpose=CTX.purpose, tenant=CTX.tenant, batch_size=BATCH)
    )
    assert (report.rewrapped, report.failed_total) == (n, 0), report
    after = usage_scan(source, purpose=CTX.purpose, tenant=CTX.tenant)
    assert dict(after[CTX]) == {new: n}, after
    again_s, again = _timed(
        lambda: rewrap(sealer, source, purpose=CTX.purpose, tenant=CTX.tenant, batch_size=BATCH)
    )
    assert again.already_current == n, again
    return {
        "rows": n,
        "batch_size": BATCH,
        "usage_scan_s": round(scan_s, 3),
        "rewrap_s": round(pass_s, 3),
        "rewrap_rows_per_s": round(n / pass_s, 1),
        "second_pass_s": round(again_s, 3),
        "second_pass_rows_per_s": round(n / again_s, 1),
    }


@benchmark("rewrap", "rewrap 100,000 sealed rows after a rotation (SQLite, PostgreSQL)")
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Seal the rows, rotate, then time scan, rewrap and a second pass; print the table."""
    n = QUICK_ROWS if settings.repeats < 7 else ROWS
    keyring = Keyring.in_memory("bench")
    sealer = Sealer(keyring)
    texts = _plaintexts(n)
    seal_s, rows = _timed(
        lambda: [(i, sealer.seal(t, CTX, aad=b"%d" % i)) for i, t in enumerate(texts, 1)]
    )
    old = keyring.keyset(CTX).primary.kid
    new = keyring.rotate(CTX)
    floor_s, _ = _timed(lambda: [sealer.rewrap(b, CTX, aad=b"%d" % i) for i, b in rows])
    results: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-rewrap-") as tmp,
        console.status(f"rewrap: SQLite, {n:,} rows"),
        _sqlite_table(Path(tmp), rows) as url,
        SqlColumn(url, "users", "email", aad_column="id") as source,
    ):
        results["SQLite"] = _measure(sealer, source, n, old, new)
    # PostgreSQL gets blobs of its own under the current primary, then one more rotation.
    old = keyring.keyset(CTX).primary.kid
    rows = [(i, sealer.seal(t, CTX, aad=b"%d" % i)) for i, t in enumerate(texts, 1)]
    new = keyring.rotate(CTX)
    try:
        with console.status(f"rewrap: PostgreSQL, {n:,} rows"), _postgres_table(rows) as pg:
            url, table = pg
            with SqlColumn(url, table, "email", key_column="id", aad_column="id") as source:
                results["PostgreSQL"] = _measure(sealer, source, n, old, new)
    except Exception as exc:  # no server, no driver: reported, not fatal
        unavailable["PostgreSQL"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

    table_out = Table(
        "backend", "rows", "batch", "usage scan", "rewrap pass", "rows/s", "vs floor",
        "second pass", "rows/s",
        title=f"rewrap after one rotation: {n:,} rows of 100-byte plaintexts, aad = row id",
    )  # fmt: skip
    for name, r in results.items():
        table_out.add_row(
            name,
            f"{r['rows']:,}",
            str(r["batch_size"]),
            f"{r['usage_scan_s']:.2f} s",
            f"{r['rewrap_s']:.2f} s",
            f"{r['rewrap_rows_per_s']:,.0f}",
            format_ratio(r["rewrap_s"] / floor_s),
            f"{r['second_pass_s']:.2f} s",
            f"{r['second_pass_rows_per_s']:,.0f}",
        )
    console.print(table_out)
    console.print(
        f"floor: Sealer.rewrap in memory, no database: {floor_s:.2f} s "
        f"({n / floor_s:,.0f} rows/s); sealing the rows took {seal_s:.2f} s. "
        "Single runs (a pass changes the data): expect noise on a shared machine.",
        highlight=False,
    )
    for name, why in unavailable.items():
        console.print(f"{name}: not measured ({why})", highlight=False)
    return {
        "rows": n,
        "batch_size": BATCH,
        "floor_s": round(floor_s, 3),
        "floor_rows_per_s": round(n / floor_s, 1),
        "seal_s": round(seal_s, 3),
        "backends": results,
        "unavailable": unavailable,
        "sqlite": sqlite3.sqlite_version,
        "psycopg": version_of("psycopg"),
    }
