"""`cryptorails nonces`: find (key, nonce) pairs used more than once in stored ciphertexts."""

from __future__ import annotations

import base64
import binascii
import os
import re
import sqlite3
import stat
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import click

from cryptorails.cli._common import cli, emit, fail, format_option
from cryptorails.stores._base import display_url
from cryptorails.triage._nonce_layout import Layout
from cryptorails.triage._nonces import ALGORITHM_NAMES, NonceReport, NonceScanner

_MAX_LINE = 64 << 20  # longer lines are reported, not held in memory
_CHUNK = 1 << 20
_FETCH = 1000
_HEX = re.compile(rb"[0-9a-fA-F]+")
_B64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_B64URL = re.compile(rb"[A-Za-z0-9_-]+={0,2}")
_LABEL_CHARS = 200


def decode_text(text: bytes, encoding: str = "auto") -> bytes | None:
    """Bytes from base64 (standard or URL-safe, padded or not) or hex text, else None.

    `auto` takes a line of an even number of hex digits as hex: base64 of a random
    blob of 34 bytes or more (the smallest sealed blob) is all hex digits with
    probability below (22/64)^46, about 1e-21.
    """
    text = text.strip()
    if not text:
        return None
    if encoding in ("auto", "hex") and len(text) % 2 == 0 and _HEX.fullmatch(text):
        return bytes.fromhex(text.decode("ascii"))
    if encoding == "hex":
        return None
    if _B64URL.fullmatch(text) and not _B64.fullmatch(text):
        text = text.translate(bytes.maketrans(b"-_", b"+/"))
    elif not _B64.fullmatch(text):
        return None
    body = text.rstrip(b"=")
    if len(body) % 4 == 1 or (len(body) != len(text) and len(text) % 4):
        return None
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        return None


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) one at a time; None for a line too long to hold."""
    number = 0
    while line := stream.readline(_MAX_LINE + 1):
        number += 1
        if len(line) > _MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


def _scan_file(scanner: NonceScanner, source: str, encoding: str) -> None:
    if source == "-":
        _scan_lines(scanner, sys.stdin.buffer, encoding)
        return
    with open(source, "rb") as stream:
        _scan_lines(scanner, stream, encoding)


def _scan_lines(scanner: NonceScanner, stream: IO[bytes], encoding: str) -> None:
    for number, line in _lines(stream):
        if line is None:
            scanner.add_undecodable(number, f"longer than {_MAX_LINE} bytes")
        elif line.strip():
            record = decode_text(line, encoding)
            if record is None:
                scanner.add_undecodable(number, f"not {_NAMES[encoding]}")
            else:
                scanner.add(record, number)


_NAMES = {"auto": "base64 or hex", "base64": "base64", "hex": "hex"}


def _printable(text: str) -> str:
    """`text` safe to print: undecodable bytes escaped, control characters as ``?`` (a
    label or file name is shown literally, never as terminal control sequences)."""
    text = text.encode(errors="surrogateescape").decode(errors="backslashreplace")
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", text)


def _add_row(scanner: NonceScanner, row: Any, number: int, encoding: str) -> None:
    where: int | str = number
    if len(row) > 1 and row[1] is not None:
        where = _printable(str(row[1]))[:_LABEL_CHARS]
    value = row[0] if row else None
    if isinstance(value, bytes | bytearray | memoryview):
        scanner.add(bytes(value), where)
    elif isinstance(value, str):
        record = None
        if value.isascii():
            record = decode_text(value.encode("ascii"), encoding)
        if record is None:
            scanner.add_undecodable(where, f"text that is not {_NAMES[encoding]}")
        else:
            scanner.add(record, where)
    else:
        what = "NULL" if value is None else f"a {type(value).__name__} value"
        scanner.add_undecodable(where, f"{what}, not a blob")


def _scan_sqlite(scanner: NonceScanner, path: Path, query: str, encoding: str) -> None:
    # mode=ro: SQLite itself refuses writes; query_only also stops the operator's query
    # from changing anything through a writable file handle.
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            # Text that is not UTF-8 must not end the scan: it becomes an undecodable row.
            conn.text_factory = lambda b: b.decode(errors="surrogateescape")
            conn.execute("PRAGMA query_only = ON")
            cursor = conn.execute(query)
            if cursor.description is None:
                fail("error: the query returns no rows (it must be a SELECT)")
            number = 0
            while rows := cursor.fetchmany(_FETCH):
                for row in rows:
                    number += 1
                    _add_row(scanner, row, number, encoding)
    except sqlite3.Error as e:
        fail(f"error: SQLite {path}: {e}")


def _scan_postgres(scanner: NonceScanner, url: str, query: str, encoding: str) -> None:
    try:
        import psycopg
    except ImportError:
        fail("error: --postgres needs psycopg: pip install 'cryptorails[postgres]'")
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.read_only = True  # BEGIN READ ONLY: the server refuses any write
            # A named (server-side) cursor streams the rows instead of loading them all.
            with conn.cursor(name="cryptorails_nonces") as cursor:
                cursor.itersize = _FETCH
                cursor.execute(query.encode())
                for number, row in enumerate(cursor, 1):
                    _add_row(scanner, row, number, encoding)
            conn.rollback()
    except psycopg.Error as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        fail(f"error: PostgreSQL {display_url(url)}: {message}")


def _scan_dir(scanner: NonceScanner, root: Path) -> None:
    """Each regular file under `root` is one raw blob; symbolic links are not followed."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            label = _printable(path)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as e:
                if not os.path.islink(path):
                    scanner.add_undecodable(label, f"unreadable: {e.strerror}")
                continue
            with open(fd, "rb", closefd=True) as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    continue  # a FIFO, socket or device: not a stored blob
                try:
                    scanner.add_chunks(_chunks(f), label)
                except OSError as e:
                    scanner.add_undecodable(label, f"unreadable: {e.strerror}")


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


@cli.command("nonces")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option("--sqlite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--postgres", metavar="URL", help="postgresql://user@host:port/db")
@click.option("--query", metavar="SQL", help="With --sqlite/--postgres: column 1 the blob.")
@click.option("--dir", "folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(["auto", "base64", "hex"]),
    default="auto",
    show_default=True,
    help="Text encoding of FILE lines and of text columns.",
)
@click.option("--layout", default="cryptorails", show_default=True, help="Or e.g. nonce:12,ct")
@click.option("--key-label", help="Raw layouts without key:N: the name of the one key.")
@click.option("--algorithm", type=click.Choice(ALGORITHM_NAMES), help="Raw layouts: the AEAD.")
@format_option
def nonces(
    file: str | None,
    sqlite: Path | None,
    postgres: str | None,
    query: str | None,
    folder: Path | None,
    encoding: str,
    layout: str,
    key_label: str | None,
    algorithm: str | None,
    fmt: str,
) -> None:
    """Report every (key, nonce) pair used more than once in stored ciphertexts.

    Reads FILE (one base64 or hex ciphertext per line; - for stdin), the rows of
    --query on --sqlite PATH or --postgres URL (column 1 the blob, an optional column 2
    a row label), or every regular file under --dir. Exit 1 if any nonce repeats.
    """
    sources = [s for s in (file, sqlite, postgres, folder) if s is not None]
    if len(sources) != 1:
        fail("error: give exactly one source: FILE, --sqlite, --postgres or --dir")
    if (query is not None) != (sqlite is not None or postgres is not None):
        fail("error: --query goes with --sqlite or --postgres, and they need it")
    if folder is not None and encoding != "auto":
        fail("error: --encoding applies to text; --dir reads raw files")
    try:
        parsed = Layout.parse(layout)
    except ValueError as e:
        fail(f"error: --layout: {e}")
    if algorithm is not None and parsed.cryptorails:
        fail("error: --algorithm is for raw layouts; cryptorails blobs name their algorithm")
    if key_label is not None and parsed.has_key:
        fail("error: --key-label names the one key of a layout without key:N")
    unit = "line" if file is not None else "row"
    scanner = NonceScanner(
        parsed, unit=unit, key_label=key_label or "all records", algorithm=algorithm
    )
    if file is not None:
        _scan_file(scanner, file, encoding)
    elif sqlite is not None:
        _scan_sqlite(scanner, sqlite, str(query), encoding)
    elif postgres is not None:
        _scan_postgres(scanner, postgres, str(query), encoding)
    elif folder is not None:
        _scan_dir(scanner, folder)
    report = scanner.report()
    emit(fmt, report.to_json(), _text(report))
    if not report.clean:
        raise click.exceptions.Exit(1)


def _text(report: NonceReport) -> str:
    lines = [
        f"{report.records} records (layout {report.layout}), {len(report.keys)} "
        f"key{'s' if len(report.keys) != 1 else ''}"
    ]
    for key in report.keys:
        head = f"{key.key}: {key.messages} messages, {key.nonce_bits}-bit nonces"
        if key.reused_nonces:
            lines.append(
                f"REUSE [{key.severity}] {head}: {key.reused_nonces} nonce"
                f"{'s' if key.reused_nonces != 1 else ''} used for more than one message "
                f"({key.extra_uses} extra); chance predicts p = {key.chance:.1e} of any "
                f"repeat: {_luck(key.chance)}"
            )
            lines.append(f"  {key.impact}")
        else:
            lines.append(f"ok {head}, none repeated")
        lines.extend(f"  warning: {w}" for w in key.warnings)
    for r in report.reuses[:20]:
        lines.append(
            f"  {r.key} nonce {r.nonce.hex()}: {r.ciphertexts} ciphertexts in {r.count} "
            f"records, first {r.first}, last {r.last}"
        )
    if len(report.reuses) > 20:
        lines.append(f"  ... and {len(report.reuses) - 20} more (--format json lists all)")
    if report.duplicates:
        lines.append(
            f"identical copies: {report.duplicates} records repeat an earlier blob byte for "
            "byte (a copy of one record, or one message sealed twice with one nonce); "
            "not counted as reuse"
        )
    for name, count, first in (
        ("malformed", report.malformed, report.malformed_at),
        ("undecodable", report.undecodable, report.undecodable_at),
    ):
        if count:
            lines.append(f"{name}: {count}")
            lines.extend(f"  {where}" for where in first)
            if count > len(first):
                lines.append(f"  ... and {count - len(first)} more")
    keys = sum(1 for k in report.keys if k.reused_nonces)
    lines.append(
        f"verdict: {len(report.reuses)} reused nonce{'s' if len(report.reuses) != 1 else ''} "
        f"under {keys} key{'s' if keys != 1 else ''}"
        if report.reuses
        else "verdict: no nonce reuse"
    )
    return "\n".join(lines)


def _luck(chance: float) -> str:
    if chance < 1e-6:
        return "a bug, not bad luck"
    if chance < 0.5:
        return "unlikely by chance; look for a broken nonce source"
    return "expected by chance: the nonce is too short for this many messages"
