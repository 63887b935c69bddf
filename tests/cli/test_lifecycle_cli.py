"""`cryptorails keys rewrap` and `keys retire`: exit codes, report fields, refusals."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cryptorails import Context, Sealer
from cryptorails.aead import read_header
from cryptorails.keys import Keyring, KeyState, Ledger, LocalKek

from .conftest import Run

CTX = Context("tenant-a", "email")


def open_keyring(ks: Path) -> Keyring:
    return Keyring.open(ks, kek=LocalKek.from_file(f"{ks}.kek"), environment="prod")


def state(ks: Path, kid: int, ctx: Context = CTX) -> KeyState:
    key = open_keyring(ks).keyset(ctx).get(kid)
    assert key is not None
    return key.state


def kid_of(blob: bytes) -> int:
    header = read_header(blob)
    assert header is not None
    return header.kid


@pytest.fixture
def app_db(ks: Path, tmp_path: Path) -> tuple[Path, int, int]:
    """users(id, email): 5 rows sealed for CTX with aad = id, then a rotation.
    Returns (database, old kid, new kid)."""
    keyring = open_keyring(ks)
    sealer = Sealer(keyring)
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email BLOB)")
    for i in range(1, 6):
        conn.execute(
            "INSERT INTO users VALUES (?, ?)", (i, sealer.seal(b"u%d" % i, CTX, aad=b"%d" % i))
        )
    conn.commit()
    conn.close()
    old = keyring.keyset(CTX).primary.kid
    return path, old, keyring.rotate(CTX)


def emails(path: Path) -> dict[int, bytes]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, email FROM users ORDER BY id").fetchall())
    finally:
        conn.close()


def rewrap_args(ks: Path, db: Path, *extra: str) -> list[str | Path]:
    return [
        "keys", "rewrap", "--keystore", ks, "--sqlite", db, "--table", "users",
        "--column", "email", "--aad-column", "id", "--tenant", "tenant-a",
        "--purpose", "email", *extra,
    ]  # fmt: skip


def retire_args(ks: Path, kid: int, *extra: str | Path) -> list[str | Path]:
    return [
        "keys", "retire", "--keystore", ks, "--tenant", "tenant-a", "--purpose", "email",
        "--kid", str(kid), *extra,
    ]  # fmt: skip


# -- rewrap ------------------------------------------------------------------------------


def test_rewrap_moves_the_table_and_reports(
    run: Run, ks: Path, app_db: tuple[Path, int, int]
) -> None:
    db, old, new = app_db
    result = run(*rewrap_args(ks, db, "--format", "json", "--batch-size", "2"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the progress bar went to stderr
    assert report["source"] == f"sqlite://{db}#users.email"
    assert (report["rows_scanned"], report["rewrapped"], report["already_current"]) == (5, 5, 0)
    assert report["kids_before"] == {str(old): 5}
    assert report["kids_after"] == {str(new): 5}
    assert report["failed"] == {}
    assert report["complete"] is True
    assert report["batch_size"] == 2
    assert "rewrap" in result.stderr
    sealer = Sealer(open_keyring(ks))
    assert all(sealer.open(b, CTX, aad=b"%d" % i) == b"u%d" % i for i, b in emails(db).items())

    again = run(*rewrap_args(ks, db))
    assert again.exit_code == 0
    assert "  already current    5" in again.stdout
    assert again.stdout.rstrip().endswith("result: every row is under the primary")


def test_rewrap_exit_1_when_rows_fail(run: Run, ks: Path, app_db: tuple[Path, int, int]) -> None:
    db, _, new = app_db
    conn = sqlite3.connect(db)
    conn.execute("UPDATE users SET email = ? WHERE id = 4", (b"\x01\x01garbage",))
    conn.commit()
    conn.close()
    result = run(*rewrap_args(ks, db, "--format", "json"))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rewrapped"] == 4
    assert report["failed"] == {"unknown_key": 1}
    assert report["failed_samples"] == {"unknown_key": [4]}
    assert report["complete"] is False
    assert emails(db)[4] == b"\x01\x01garbage"
    text = run(*rewrap_args(ks, db))
    assert text.exit_code == 1
    assert "    unknown_key: 1 (e.g. keys 4)" in text.stdout
    assert "result: 1 row(s) are not under the primary (left unchanged)" in text.stdout
    assert kid_of(emails(db)[1]) == new


def test_rewrap_usage_errors_exit_2(
    run: Run, ks: Path, app_db: tuple[Path, int, int], tmp_path: Path
) -> None:
    db, _, _ = app_db
    base = ["keys", "rewrap", "--keystore", ks, "--purpose", "email"]
    t = [*base, "--tenant", "t"]
    cases: list[tuple[list[Any], str]] = [
        ([*t, "--sqlite", db, "--dir", tmp_path], "exactly one of --sqlite"),
        ([*base, "--sqlite", db, "--table", "u", "--column", "e"], "exactly one of --tenant"),
        ([*t, "--postgres", "postgresql://h/db", "--table", "u", "--column", "c"], "--key-column"),
        ([*t, "--sqlite", db, "--column", "email"], "--table and --column"),
        ([*t, "--sqlite", db, "--table", "users; --", "--column", "email"], "no table"),
        ([*t, "--dir", tmp_path, "--table", "users"], "--dir takes no"),
        (rewrap_args(ks, db, "--batch-size", "0"), "batch-size"),
        (rewrap_args(ks, db, "--job", "../x"), "job must be"),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
    assert kid_of(emails(db)[1]) != open_keyring(ks).keyset(CTX).primary.kid


def test_rewrap_postgres_with_tenant_column(run: Run, ks: Path, postgres_url: str) -> None:
    import psycopg

    keyring = open_keyring(ks)
    sealer = Sealer(keyring)
    a, b = Context("org-a", "card"), Context("org-b", "card")
    table = f"rwcli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, org text, card bytea)")
        try:
            for i, ctx in enumerate([a, b, a, b]):
                blob = sealer.seal(b"4111-%d" % i, ctx, aad=f"r{i}".encode())
                conn.execute(
                    f"INSERT INTO {table} VALUES (%s, %s, %s)", (f"r{i}", ctx.tenant, blob)
                )
            new = {keyring.rotate(a), keyring.rotate(b)}
            args = [
                "keys", "rewrap", "--keystore", ks, "--postgres", postgres_url, "--table", table,
                "--column", "card", "--key-column", "id", "--aad-column", "id",
                "--tenant-column", "org", "--purpose", "card", "--format", "json",
            ]  # fmt: skip
            result = run(*args)
            assert result.exit_code == 0, result.output
            report = json.loads(result.stdout)
            assert report["rewrapped"] == 4
            assert report["source"].endswith(f"#{table}.card")
            rows = conn.execute(f"SELECT card FROM {table}").fetchall()
            assert {kid_of(bytes(r[0])) for r in rows} == new
        finally:
            conn.execute(f"DROP TABLE {table}")
            conn.execute("DELETE FROM cryptorails_rewrap_progress WHERE tbl = %s", (table,))


def test_rewrap_directory(run: Run, ks: Path, tmp_path: Path) -> None:
    keyring = open_keyring(ks)
    sealer = Sealer(keyring)
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("a.bin", "b.bin"):
        (folder / name).write_bytes(sealer.seal(name.encode(), CTX, aad=name.encode()))
    new = keyring.rotate(CTX)
    args = ["keys", "rewrap", "--keystore", ks, "--dir", folder, "--pattern", "*.bin"]
    result = run(
        *args, "--aad-name", "--tenant", "tenant-a", "--purpose", "email", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rewrapped"] == 2
    assert kid_of((folder / "a.bin").read_bytes()) == new
    # Without the name as aad nothing opens: every file fails, exit 1.
    keyring.rotate(CTX)
    result = run(*args, "--tenant", "tenant-a", "--purpose", "email", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["failed"] == {"authentication_failed": 2}


# -- retire ------------------------------------------------------------------------------


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'ledger.db'}"


def test_retire_refuses_the_primary(run: Run, ks: Path, app_db: tuple[Path, int, int]) -> None:
    db, _, new = app_db
    result = run(*retire_args(ks, new, "--source", f"sqlite:{db}#users.email", "--format", "json"))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["action"], data["state"]) == ("refused", "primary")
    assert state(ks, new) is KeyState.PRIMARY
    assert (
        "rotate first" in run(*retire_args(ks, new, "--source", f"sqlite:{db}#users.email")).stdout
    )


def test_retire_refuses_while_a_blob_uses_the_key(
    run: Run, ks: Path, app_db: tuple[Path, int, int]
) -> None:
    db, old, _ = app_db
    spec = f"sqlite:{db}#users.email"
    result = run(*retire_args(ks, old, "--source", spec, "--format", "json"))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["action"] == "refused"
    assert data["uses"] == [
        {"source": f"sqlite://{db}#users.email", "kind": "dataset", "scanned": True, "blobs": 5}
    ]
    assert state(ks, old) is KeyState.ACTIVE
    text = run(*retire_args(ks, old, "--source", spec))
    assert text.exit_code == 1
    assert f"  sqlite://{db}#users.email: 5 blob(s)" in text.stdout


def test_retire_counts_ledger_backups_it_did_not_scan(
    run: Run, ks: Path, app_db: tuple[Path, int, int], ledger_url: str
) -> None:
    db, old, _ = app_db
    assert run(*rewrap_args(ks, db, "--ledger", ledger_url)).exit_code == 0
    with Ledger.open(ledger_url) as ledger:
        ledger.record_usage("prod", CTX, "backup-2030-01-01", {old: 3}, kind="backup")
    spec = f"sqlite:{db}#users.email"
    result = run(
        *retire_args(ks, old, "--source", spec, "--ledger", ledger_url, "--format", "json")
    )
    assert result.exit_code == 1
    uses = json.loads(result.stdout)["uses"]
    assert uses[0] == {
        "source": f"sqlite://{db}#users.email",
        "kind": "dataset",
        "scanned": True,
        "blobs": 0,
    }
    assert uses[1]["source"] == "backup-2030-01-01"
    assert (uses[1]["kind"], uses[1]["scanned"], uses[1]["blobs"]) == ("backup", False, 3)
    text = run(*retire_args(ks, old, "--source", spec, "--ledger", ledger_url))
    assert (
        "  backup-2030-01-01: 3 blob(s) (backup listed in the ledger, not scanned)" in text.stdout
    )
    assert state(ks, old) is KeyState.ACTIVE


def test_retire_disables_then_destroys_after_the_grace_period(
    run: Run, ks: Path, app_db: tuple[Path, int, int], ledger_url: str
) -> None:
    db, old, _ = app_db
    spec = f"sqlite:{db}#users.email"
    assert run(*rewrap_args(ks, db)).exit_code == 0

    first = run(*retire_args(ks, old, "--source", spec, "--ledger", ledger_url, "--format", "json"))
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert (data["action"], data["state"]) == ("disabled", "disabled")
    assert state(ks, old) is KeyState.DISABLED
    key = open_keyring(ks).keyset(CTX).get(old)
    assert key is not None
    assert key.changed_at is not None
    due = key.changed_at + timedelta(days=7)
    assert datetime.fromisoformat(data["destroy_after"]) == due
    # The scan was recorded in the ledger: nothing under the old key in this dataset.
    with Ledger.open(ledger_url) as ledger:
        assert [dict(u.kids) for u in ledger.usage("prod", CTX)] == [
            {open_keyring(ks).keyset(CTX).primary.kid: 5}
        ]

    early = run(*retire_args(ks, old, "--source", spec, "--format", "json"))
    assert early.exit_code == 0
    assert json.loads(early.stdout)["action"] == "waiting"
    assert state(ks, old) is KeyState.DISABLED

    later = (due + timedelta(seconds=1)).isoformat()
    declined = run(*retire_args(ks, old, "--source", spec, "--now", later), input="n\n")
    assert declined.exit_code == 1
    assert state(ks, old) is KeyState.DISABLED

    done = run(*retire_args(ks, old, "--source", spec, "--now", later, "--yes", "--format", "json"))
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["action"] == "destroyed"
    assert state(ks, old) is KeyState.DESTROYED
    assert open_keyring(ks).keyset(CTX).get(old).material is None  # type: ignore[union-attr]


def test_retire_destroys_an_unused_compromised_key_after_the_grace_period(
    run: Run, ks: Path, app_db: tuple[Path, int, int]
) -> None:
    db, old, _ = app_db
    spec = f"sqlite:{db}#users.email"
    open_keyring(ks).set_state(CTX, old, KeyState.COMPROMISED)
    still_used = run(*retire_args(ks, old, "--source", spec, "--grace", "0s", "--yes"))
    assert still_used.exit_code == 1  # its rows have not been moved yet
    assert run(*rewrap_args(ks, db)).exit_code == 0  # rewrap opens compromised keys
    waiting = run(*retire_args(ks, old, "--source", spec, "--format", "json"))
    assert (waiting.exit_code, json.loads(waiting.stdout)["action"]) == (0, "waiting")
    assert state(ks, old) is KeyState.COMPROMISED
    done = run(*retire_args(ks, old, "--source", spec, "--grace", "0s", "--yes"))
    assert done.exit_code == 0, done.output
    assert state(ks, old) is KeyState.DESTROYED


def test_retire_scans_again_before_destroying(
    run: Run, ks: Path, app_db: tuple[Path, int, int]
) -> None:
    db, old, _ = app_db
    spec = f"sqlite:{db}#users.email"
    assert run(*rewrap_args(ks, db)).exit_code == 0
    assert run(*retire_args(ks, old, "--source", spec, "--grace", "0s")).exit_code == 0
    # A restored row under the old key appears while the key is disabled.
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE users SET email = ? WHERE id = 2",
        (bytes([1, 1]) + old.to_bytes(4, "big") + bytes(40),),
    )
    conn.commit()
    conn.close()
    result = run(*retire_args(ks, old, "--source", spec, "--grace", "0s", "--yes"))
    assert result.exit_code == 1
    assert "1 blob(s)" in result.stdout
    assert state(ks, old) is KeyState.DISABLED


def test_retire_with_a_tenant_column_counts_only_that_tenant(
    run: Run, ks: Path, tmp_path: Path
) -> None:
    keyring = open_keyring(ks)
    sealer = Sealer(keyring)
    other = Context("tenant-b", "email")
    old = keyring.keyset(CTX).primary.kid
    db = tmp_path / "shared.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, org TEXT, v BLOB)")
    conn.execute("INSERT INTO t VALUES (1, 'tenant-a', ?)", (sealer.seal(b"a", CTX),))
    # A blob of tenant-b whose header happens to name tenant-a's old kid.
    forged = bytes([1, 1]) + old.to_bytes(4, "big") + bytes(40)
    conn.execute("INSERT INTO t VALUES (2, 'tenant-b', ?)", (forged,))
    conn.commit()
    keyring.keyset(other)
    keyring.rotate(CTX)
    args = retire_args(ks, old, "--format", "json")
    used = run(*args, "--source", f"sqlite:{db}#t.v,tenant=org")
    assert used.exit_code == 1
    assert json.loads(used.stdout)["uses"][0]["blobs"] == 1
    conn.execute("UPDATE t SET v = ? WHERE id = 1", (Sealer(open_keyring(ks)).seal(b"a", CTX),))
    conn.commit()
    conn.close()
    result = run(*args, "--source", f"sqlite:{db}#t.v,tenant=org")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["action"] == "disabled"


def test_retire_usage_errors_exit_2(run: Run, ks: Path, app_db: tuple[Path, int, int]) -> None:
    db, old, _ = app_db
    for args, message in [
        (retire_args(ks, old), "--source"),
        (retire_args(ks, old, "--source", f"sqlite:{db}#users"), "malformed source"),
        (retire_args(ks, old, "--source", f"sqlite:{db}#nope.email"), "no table"),
        (retire_args(ks, 12345, "--source", f"sqlite:{db}#users.email"), "no key 12345"),
        (retire_args(ks, old, "--source", f"sqlite:{db}#users.email", "--grace", "7y"), "duration"),
        (
            retire_args(ks, old, "--source", f"sqlite:{db}#users.email", "--now", "2030-01-01"),
            "time zone",
        ),
    ]:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
    assert state(ks, old) is KeyState.ACTIVE


def test_retire_a_destroyed_key_is_a_no_op(
    run: Run, ks: Path, app_db: tuple[Path, int, int]
) -> None:
    db, old, _ = app_db
    keyring = open_keyring(ks)
    keyring.set_state(CTX, old, KeyState.DISABLED)
    keyring.set_state(CTX, old, KeyState.DESTROYED)
    result = run(*retire_args(ks, old, "--source", f"sqlite:{db}#users.email", "--format", "json"))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["action"] == "none"
