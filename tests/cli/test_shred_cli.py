"""`cryptorails keys add|activate|shred|compromise|blast-radius` through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cryptorails import Context, Sealer
from cryptorails.aead import read_header
from cryptorails.cli._common import open_keyring

from .conftest import Run


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'ledger.db'}"


def _ctx(tenant: str = "tenant-a", purpose: str = "email") -> list[str]:
    return ["--tenant", tenant, "--purpose", purpose]


def _seal(run: Run, ks: Path, tenant: str, data: bytes) -> bytes:
    result = run("seal", "--keystore", ks, *_ctx(tenant), input=data)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_shred_survives_a_restored_keystore_and_says_why(
    run: Run, ks: Path, ledger: str, tmp_path: Path
) -> None:
    blob_a = _seal(run, ks, "tenant-a", b"alice")
    blob_b = _seal(run, ks, "tenant-b", b"bob")
    shutil.copytree(ks, tmp_path / "before")

    # Without a ledger there is nowhere to keep the tombstone: refused, nothing changed.
    refused = run("keys", "shred", "--keystore", ks, "--tenant", "tenant-a", "--yes")
    assert refused.exit_code == 2
    assert "needs a key ledger" in refused.stderr

    done = run(
        "keys", "shred", "--keystore", ks, "--ledger", ledger, "--tenant", "tenant-a",
        "--note", "erasure request 42", "--yes", "--format", "json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["tenant"] == "tenant-a"
    assert report["keysets"] == [{"tenant": "tenant-a", "purpose": "email"}]
    assert report["keysets_deleted"] == 1
    assert report["tenant_kek_destroyed"] is False
    assert "only the ledger tombstone refuses" in report["notes"][0]

    shutil.rmtree(ks)
    shutil.copytree(tmp_path / "before", ks)
    opened = run("open", "--keystore", ks, "--ledger", ledger, *_ctx("tenant-a"), input=blob_a)
    assert opened.exit_code == 1
    assert "decryption failed: the tenant was shredded" in opened.stderr
    assert b"alice" not in opened.stdout_bytes
    # The same command with the ledger in the environment, and the other tenant untouched.
    env = {"CRYPTORAILS_LEDGER": ledger}
    again = run("open", "--keystore", ks, *_ctx("tenant-a"), input=blob_a, env=env)
    assert again.exit_code == 1
    other = run("open", "--keystore", ks, *_ctx("tenant-b"), input=blob_b, env=env)
    assert other.exit_code == 0
    assert other.stdout_bytes == b"bob"
    # Without the ledger, the restored copy would open: that is what the tombstone is for.
    unguarded = run("open", "--keystore", ks, *_ctx("tenant-a"), input=blob_a)
    assert unguarded.stdout_bytes == b"alice"


def test_shred_asks_first(run: Run, ks: Path, ledger: str) -> None:
    _seal(run, ks, "tenant-a", b"alice")
    result = run(
        "keys", "shred", "--keystore", ks, "--ledger", ledger, "--tenant", "tenant-a", input="n\n"
    )
    assert result.exit_code == 1  # aborted
    assert open_keyring(ks, None, None).contexts() == [Context("tenant-a", "email")]


def test_add_then_activate(run: Run, ks: Path) -> None:
    _seal(run, ks, "tenant-a", b"x")
    added = run("keys", "add", "--keystore", ks, *_ctx(), "--format", "json")
    kid = json.loads(added.stdout)["kid"]
    listed = json.loads(run("keys", "list", "--keystore", ks, "--format", "json").stdout)
    states = {k["kid"]: (k["state"], k["nist_state"]) for k in listed["keys"]}
    assert states[kid] == ("pre_activation", "pre-activation")
    assert run("keys", "activate", "--keystore", ks, *_ctx(), "--kid", str(kid)).exit_code == 0
    blob = _seal(run, ks, "tenant-a", b"y")
    assert read_header(blob).kid == kid  # type: ignore[union-attr]


def test_compromise_rotates_and_reports_what_the_key_sealed(
    run: Run, ks: Path, ledger: str
) -> None:
    keyring = open_keyring(ks, None, None, ledger)
    ctx = Context("tenant-a", "email")
    blob = Sealer(keyring).seal(b"x", ctx)
    kid = read_header(blob).kid  # type: ignore[union-attr]
    assert keyring.ledger is not None
    keyring.ledger.record_usage("prod", ctx, "sqlite:///app.db#users.email", {kid: 1200})
    keyring.ledger.record_usage(
        "prod", ctx, "backup:7f3a", {kid: 1}, kind="backup", location="/backups/7f3a.crbk"
    )
    result = run(
        "keys", "compromise", "--keystore", ks, "--ledger", ledger, *_ctx(), "--kid", str(kid),
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["compromised"] == kid
    assert data["primary"] != kid
    assert data["keys"][0]["state"] == "compromised"
    assert [(r["dataset"], r["blobs"]) for r in data["readable_if_leaked"]] == [
        ("backup:7f3a", 1),
        ("sqlite:///app.db#users.email", 1200),
    ]
    text = run("keys", "blast-radius", "--keystore", ks, "--ledger", ledger, str(kid)).stdout
    assert "dataset sqlite:///app.db#users.email: 1200 blob(s)" in text
    assert "backup backup:7f3a at /backups/7f3a.crbk: 1 blob(s)" in text


def test_blast_radius_usage_errors(run: Run, ks: Path) -> None:
    _seal(run, ks, "tenant-a", b"x")
    assert run("keys", "blast-radius", "--keystore", ks).exit_code == 2
    missing = run("keys", "blast-radius", "--keystore", ks, "12345")
    assert missing.exit_code == 1
    assert "no key 12345" in missing.stderr
    result = run("keys", "blast-radius", "--keystore", ks, "--tenant", "tenant-a")
    assert result.exit_code == 0
    assert "no key ledger given" in result.stdout


def test_blast_radius_finds_keystore_copies_in_backups(
    run: Run, ks: Path, ledger: str, tmp_path: Path
) -> None:
    import tarfile

    _seal(run, ks, "tenant-a", b"alice")
    backups = tmp_path / "backups"
    backups.mkdir()
    with tarfile.open(backups / "nightly.tar.gz", "w:gz") as tar:
        tar.add(ks, arcname="srv/keys")
        tar.add(f"{ks}.kek", arcname="srv/keys.kek")
    (backups / "clean.txt").write_text("nothing here\n")
    (backups / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")

    result = run(
        "keys", "blast-radius", "--keystore", ks, "--ledger", ledger, "--tenant", "tenant-a",
        "--backups", backups, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    kinds = {(c["location"].split("!", 1)[1], c["kind"]) for c in data["keystore_copies"]}
    assert ("srv/keys/keystore.json", "keystore") in kinds
    assert ("srv/keys.kek", "kek") in kinds
    assert any(kind == "keyset" for _, kind in kinds)
    assert any("broken.zip" in n for n in data["notes"])
    text = run(
        "keys", "blast-radius", "--keystore", ks, "--tenant", "tenant-a", "--backups", backups
    ).stdout  # fmt: skip
    assert "backups holding copies of the keystore or key material:" in text
    assert "nightly.tar.gz!srv/keys.kek: kek" in text

    # Inside a cryptorails backup, a keystore copy is found only with the backup keystore.
    from cryptorails.backups import BackupSealer

    bks = tmp_path / "bks"
    assert run("keys", "init", "--keystore", bks, "--environment", "prod").exit_code == 0
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    BackupSealer(open_keyring(bks, None, None), tenant="tenant-a").seal_file(
        backups / "nightly.tar.gz", sealed / "nightly.crbk"
    )
    args = ["keys", "blast-radius", "--keystore", ks, "--tenant", "tenant-a", "--backups", sealed]
    blind = run(*args, "--format", "json")
    assert blind.exit_code == 0
    assert "no given BackupSealer opens" in json.loads(blind.stdout)["notes"][-1]
    seeing = run(*args, "--backup-keystore", bks, "--format", "json")
    assert seeing.exit_code == 1
    assert any(
        c["kind"] == "kek" and c["location"].endswith("srv/keys.kek")
        for c in json.loads(seeing.stdout)["keystore_copies"]
    )

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "db.sql").write_text("insert into t values (1);\n")
    result = run(
        "keys", "blast-radius", "--keystore", ks, "--tenant", "tenant-a", "--backups", clean
    )
    assert result.exit_code == 0
