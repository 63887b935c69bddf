"""`cryptorails nonces`: sources (file, stdin, SQLite, PostgreSQL, folder), output, exits."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cryptorails.aead import Sealer
from cryptorails.cli import _nonces as nonces_cli
from cryptorails.cli._nonces import decode_text
from cryptorails.context import Context
from cryptorails.keys import Keyring

from .conftest import Run

CTX = Context("tenant-a", "user-email")
FIXED = bytes.fromhex("00112233445566778899aabb")


@pytest.fixture
def gcm() -> AESGCM:
    return AESGCM(AESGCM.generate_key(256))


def planted(gcm: AESGCM, fresh: int = 20, repeats: int = 3) -> list[bytes]:
    """`fresh` records with random nonces, then `repeats` records under FIXED."""
    records = []
    for i in range(fresh):
        nonce = os.urandom(12)
        records.append(nonce + gcm.encrypt(nonce, b"fresh %d" % i, None))
    records += [FIXED + gcm.encrypt(FIXED, b"reused %d" % i, None) for i in range(repeats)]
    return records


# -- decoding --------------------------------------------------------------------------


def test_decode_text_takes_base64_of_both_alphabets_padded_or_not_and_hex() -> None:
    data = bytes(range(250, 256)) + b"\xfb\xff"
    assert decode_text(base64.b64encode(data)) == data
    assert decode_text(base64.urlsafe_b64encode(data)) == data
    assert decode_text(base64.b64encode(data).rstrip(b"=")) == data
    assert decode_text(base64.urlsafe_b64encode(b"\xfb\xff\xfe").rstrip(b"=")) == b"\xfb\xff\xfe"
    assert decode_text(b"  " + data.hex().encode() + b"\r\n") == data
    assert decode_text(data.hex().upper().encode(), "hex") == data
    assert decode_text(b"abcd", "base64") == base64.b64decode(b"abcd")
    assert decode_text(b"abcd") == b"\xab\xcd"  # auto: even-length hex is hex


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (b"not base64!", "auto"),
        (b"abc", "hex"),
        (b"zz", "hex"),
        (b"a+b_", "auto"),  # mixed alphabets
        (b"abcde", "base64"),  # 4n+1 characters
        (b"ab=", "base64"),  # padding without a full quantum
        (b"", "auto"),
    ],
)
def test_decode_text_refuses_what_is_neither(text: bytes, encoding: str) -> None:
    assert decode_text(text, encoding) is None


# -- FILE and stdin ----------------------------------------------------------------------


def test_sealer_blobs_in_mixed_encodings_are_clean(run: Run, tmp_path: Path) -> None:
    sealer = Sealer(Keyring.in_memory())
    blobs = [sealer.seal(b"v%d" % i, CTX) for i in range(6)]
    lines = [
        base64.b64encode(blobs[0]).decode(),
        base64.urlsafe_b64encode(blobs[1]).decode().rstrip("="),
        "",
        blobs[2].hex(),
        "   ",
        base64.b64encode(blobs[3]).decode().rstrip("="),
        "%%% not a blob %%%",
        blobs[4].hex().upper(),
        base64.urlsafe_b64encode(blobs[5]).decode(),
    ]
    path = tmp_path / "blobs.txt"
    path.write_text("\n".join(lines) + "\n")
    result = run("nonces", path)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "6 records (layout cryptorails), 1 key"
    assert out[1].startswith("ok XAES-256-GCM kid ")
    assert out[1].endswith(": 6 messages, 192-bit nonces, none repeated")
    assert out[2:] == ["undecodable: 1", "  line 7: not base64 or hex", "verdict: no nonce reuse"]


def test_planted_reuse_in_a_file_exits_1_and_names_lines(
    run: Run, tmp_path: Path, gcm: AESGCM
) -> None:
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(r.hex() for r in planted(gcm)) + "\n")
    args = ("nonces", path, "--layout", "nonce:12,ct", "--algorithm", "AES-GCM")
    result = run(*args)
    assert result.exit_code == 1, result.output
    out = result.stdout.splitlines()
    assert out[1].startswith(
        "REUSE [critical] all records: 23 messages, 96-bit nonces: 1 nonce used for more "
        "than one message (2 extra); chance predicts p = "
    )
    assert out[1].endswith(": a bug, not bad luck")
    assert out[2].startswith("  AES-GCM: a repeated nonce reveals the XOR")
    assert out[3] == (
        f"  all records nonce {FIXED.hex()}: 3 ciphertexts in 3 records, first line 21, "
        "last line 23"
    )
    assert out[-1] == "verdict: 1 reused nonce under 1 key"
    data = json.loads(run(*args, "--format", "json").stdout)
    assert data["clean"] is False
    assert data["reuses"][0]["nonce"] == FIXED.hex()
    assert data["keys"][0]["chance"] < 1e-25


def test_stdin_and_key_label(run: Run, gcm: AESGCM) -> None:
    text = "\n".join(base64.b64encode(r).decode() for r in planted(gcm, fresh=2, repeats=2))
    result = run(
        "nonces", "-", "--layout", "nonce:12,ct", "--key-label", "billing", input=text + "\n"
    )
    assert result.exit_code == 1
    assert f"  billing nonce {FIXED.hex()}: 2 ciphertexts in 2 records" in result.stdout
    assert "algorithm not given: assumed" in result.stdout


def test_wrong_layout_counts_malformed_records(run: Run, tmp_path: Path, gcm: AESGCM) -> None:
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(r.hex() for r in planted(gcm, fresh=0, repeats=2)) + "\n")
    result = run("nonces", path, "--format", "json")  # raw records read as sealed blobs
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["malformed"] == {
        "count": 2,
        "first": ["line 1: unknown version 0", "line 2: unknown version 0"],
    }
    assert data["keys"] == []


def test_an_overlong_line_is_reported_and_skipped(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nonces_cli, "_MAX_LINE", 64)
    monkeypatch.setattr(nonces_cli, "_CHUNK", 16)
    path = tmp_path / "long.txt"
    path.write_text("00" * 100 + "\n" + "ab" * 20 + "\n")
    result = run("nonces", path, "--layout", "nonce:20", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["undecodable"]["first"] == ["line 1: longer than 64 bytes"]
    assert data["records"] == 1


# -- SQLite ----------------------------------------------------------------------------


def test_sqlite_blob_and_text_columns_with_labels(run: Run, tmp_path: Path, gcm: AESGCM) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE secrets (id INTEGER PRIMARY KEY, ct BLOB, note TEXT)")
        for i, record in enumerate(planted(gcm, fresh=5, repeats=2)):
            value: bytes | str = record if i % 2 else base64.b64encode(record).decode()
            conn.execute("INSERT INTO secrets (ct, note) VALUES (?, ?)", (value, f"id {i + 1}"))
        conn.execute("INSERT INTO secrets (ct, note) VALUES (NULL, 'id 8')")
        conn.execute("INSERT INTO secrets (ct, note) VALUES (42, NULL)")
    conn.close()
    query = "SELECT ct, note FROM secrets ORDER BY id"
    result = run("nonces", "--sqlite", db, "--query", query, "--layout", "nonce:12,ct")
    assert result.exit_code == 1, result.output
    assert f"nonce {FIXED.hex()}: 2 ciphertexts in 2 records, first id 6, last id 7" in (
        result.stdout
    )
    assert "  id 8: NULL, not a blob" in result.stdout
    assert "  row 9: a int value, not a blob" in result.stdout


def test_sqlite_is_opened_read_only(run: Run, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (ct BLOB)")
        conn.execute("INSERT INTO t VALUES (x'00')")
    conn.close()
    result = run("nonces", "--sqlite", db, "--query", "DELETE FROM t RETURNING ct")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: SQLite {db}: attempt to write a readonly database")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.close()
    bad = run("nonces", "--sqlite", db, "--query", "SELECT nope FROM t")
    assert bad.exit_code == 2
    assert bad.stderr == f"error: SQLite {db}: no such column: nope\n"


# -- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[tuple[str, str]]:
    import psycopg

    table = f"nonces_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, ct bytea, label text)")
    try:
        yield postgres_url, table
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def test_postgres_table_with_planted_reuse(
    run: Run, pg_table: tuple[str, str], gcm: AESGCM
) -> None:
    import psycopg

    url, table = pg_table
    with psycopg.connect(url, autocommit=True) as conn:
        for i, record in enumerate(planted(gcm, fresh=30, repeats=3)):
            conn.execute(
                f"INSERT INTO {table} (ct, label) VALUES (%s, %s)", (record, f"order-{i + 1}")
            )
    query = f"SELECT ct, label FROM {table} WHERE label LIKE 'order-%' ORDER BY id"
    result = run(
        "nonces", "--postgres", url, "--query", query, "--layout", "nonce:12,ct", "--format", "json"
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["records"] == 33
    assert data["reuses"] == [
        {
            "key": "all records",
            "nonce": FIXED.hex(),
            "count": 3,
            "ciphertexts": 3,
            "first": "order-31",
            "last": "order-33",
        }
    ]


def test_postgres_is_read_only_and_errors_are_usage_errors(
    run: Run, pg_table: tuple[str, str]
) -> None:
    import psycopg

    url, table = pg_table
    result = run("nonces", "--postgres", url, "--query", f"DELETE FROM {table} RETURNING ct")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: PostgreSQL {url}: ")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table} (ct) VALUES ('\\x00')")
    result = run("nonces", "--postgres", url, "--query", f"UPDATE {table} SET ct = NULL")
    assert result.exit_code == 2
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE ct IS NOT NULL").fetchone()
    assert row == (1,)
    unreachable = "postgresql://nobody:hunter2@127.0.0.1:1/none"
    result = run("nonces", "--postgres", unreachable, "--query", "SELECT 1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: PostgreSQL postgresql://nobody@127.0.0.1:1/none: ")
    assert "hunter2" not in result.stderr


# -- folders ---------------------------------------------------------------------------


def test_dir_reads_regular_files_recursively_and_skips_symlinks(
    run: Run, tmp_path: Path, gcm: AESGCM
) -> None:
    root = tmp_path / "blobs"
    (root / "a" / "deep").mkdir(parents=True)
    records = planted(gcm, fresh=3, repeats=2)
    for i, record in enumerate(records[:3]):
        (root / f"f{i}.bin").write_bytes(record)
    (root / "a" / "one.bin").write_bytes(records[3])
    (root / "a" / "deep" / "two.bin").write_bytes(records[4])
    outside = tmp_path / "outside.bin"
    outside.write_bytes(records[4])
    (root / "link.bin").symlink_to(outside)  # a link is not followed: no third copy
    (root / "a" / "dirlink").symlink_to(root / "a" / "deep", target_is_directory=True)
    result = run("nonces", "--dir", root, "--layout", "nonce:12,ct", "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["records"] == 5
    assert data["identical_copies"] == 0
    (reuse,) = data["reuses"]
    # Sorted, a folder's files before its subfolders.
    assert (reuse["first"], reuse["last"]) == (
        str(root / "a" / "one.bin"),
        str(root / "a" / "deep" / "two.bin"),
    )


def test_dir_of_sealer_blobs_is_clean(run: Run, tmp_path: Path) -> None:
    sealer = Sealer(Keyring.in_memory())
    for i in range(4):
        (tmp_path / f"{i}.sealed").write_bytes(sealer.seal(os.urandom(3000), CTX))
    result = run("nonces", "--dir", tmp_path)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "verdict: no nonce reuse"


# -- usage errors ----------------------------------------------------------------------


ONE_SOURCE = "give exactly one source: FILE, --sqlite, --postgres or --dir"
QUERY = "--query goes with --sqlite or --postgres, and they need it"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), ONE_SOURCE),
        (("F", "--dir", "D"), ONE_SOURCE),
        (("F", "--query", "SELECT 1"), QUERY),
        (("--sqlite", "F"), QUERY),
        (("F", "--layout", "nonce:12,nonce:4"), "--layout: layout has more than one 'nonce' field"),
        (
            ("F", "--algorithm", "AES-GCM"),
            "--algorithm is for raw layouts; cryptorails blobs name their algorithm",
        ),
        (
            ("F", "--layout", "key:4,nonce:12", "--key-label", "x"),
            "--key-label names the one key of a layout without key:N",
        ),
        (("--dir", "D", "--encoding", "hex"), "--encoding applies to text; --dir reads raw files"),
    ],
)
def test_usage_errors_exit_2(run: Run, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "F").write_text("")
    (tmp_path / "D").mkdir()
    full = [str(tmp_path / a) if a in ("F", "D") else a for a in args]
    result = run("nonces", *full)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_missing_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    result = run("nonces", tmp_path / "absent.txt")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_odd_file_names_and_non_utf8_text_are_reported_not_fatal(
    run: Run, tmp_path: Path, gcm: AESGCM
) -> None:
    root = tmp_path / "blobs"
    root.mkdir()
    one, two = planted(gcm, fresh=0, repeats=2)
    (root / "a\nb.bin").write_bytes(one)
    (Path(os.fsdecode(bytes(root) + b"/\xff.bin"))).write_bytes(two)
    result = run("nonces", "--dir", root, "--layout", "nonce:12,ct")
    assert result.exit_code == 1
    assert f"first {root}/a?b.bin, last {root}/\\xff.bin" in result.stdout
    db = tmp_path / "odd.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (ct, label)")
        conn.execute("INSERT INTO t VALUES (CAST(x'ff41' AS TEXT), 'row-a')")
        conn.execute("INSERT INTO t VALUES (?, CAST(x'41ff' AS TEXT))", (one,))
    conn.close()
    result = run("nonces", "--sqlite", db, "--query", "SELECT ct, label FROM t", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["undecodable"]["first"] == ["row-a: text that is not base64 or hex"]
    assert data["records"] == 1
