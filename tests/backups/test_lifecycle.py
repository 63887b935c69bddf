"""Backups over the life of their keys: shredding, rotation and re-keying, manifests, the
ledger."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from cryptorails import (
    ConfigurationError,
    DecryptionError,
    KeyState,
    PolicyError,
    Reason,
    VerificationError,
)
from cryptorails.backups import BackupSealer, Manifest, manifest_path
from cryptorails.keys import Keyring, Ledger, LocalKek
from cryptorails.testing import FixedClock

from .helpers import CHUNK, TENANT

DATA = os.urandom(3 * CHUNK + 77)


@pytest.fixture
def backup(sealer: BackupSealer, tmp_path: Path) -> Path:
    (tmp_path / "dump.sql").write_bytes(DATA)
    sealer.seal_file(tmp_path / "dump.sql", tmp_path / "dump.crbk")
    return tmp_path / "dump.crbk"


# -- shredding -------------------------------------------------------------------------


def test_shredded_tenant_backups_never_open_again(
    tmp_path: Path, backup: Path, backup_keyring: Keyring, backup_kek: LocalKek, ledger: Ledger
) -> None:
    globex = BackupSealer(backup_keyring, tenant="globex", chunk_size=CHUNK)
    (tmp_path / "globex.sql").write_bytes(b"globex rows")
    globex.seal_file(tmp_path / "globex.sql", tmp_path / "globex.crbk")
    shutil.copytree(tmp_path / "backup-keys", tmp_path / "keys-copy-before-shred")

    backup_keyring.shred(TENANT, note="erasure request")
    sealer = BackupSealer(backup_keyring, tenant=TENANT, chunk_size=CHUNK)
    with pytest.raises(DecryptionError) as e:
        sealer.restore_file(backup, tmp_path / "restored")
    assert e.value.reason is Reason.TENANT_SHREDDED
    assert not (tmp_path / "restored").exists()
    with pytest.raises(PolicyError, match="acme was shredded"):
        sealer.seal_file(tmp_path / "dump.sql", tmp_path / "new.crbk")
    assert not (tmp_path / "new.crbk").exists()

    # Restoring the backup keystore folder from before the shred brings the wrapped key
    # files back; the tombstone in the ledger keeps them dead.
    shutil.rmtree(tmp_path / "backup-keys")
    shutil.copytree(tmp_path / "keys-copy-before-shred", tmp_path / "backup-keys")
    reopened = Keyring.open(
        tmp_path / "backup-keys", kek=backup_kek, environment="prod", ledger=ledger
    )
    with pytest.raises(DecryptionError) as e:
        BackupSealer(reopened, tenant=TENANT).restore_file(backup, tmp_path / "restored")
    assert e.value.reason is Reason.TENANT_SHREDDED
    assert not (tmp_path / "restored").exists()
    # Other tenants' backups are untouched.
    BackupSealer(reopened, tenant="globex").restore_file(
        tmp_path / "globex.crbk", tmp_path / "globex.out"
    )
    assert (tmp_path / "globex.out").read_bytes() == b"globex rows"


# -- rotation and re-keying ------------------------------------------------------------


def test_rewrap_header_moves_the_data_key_to_the_new_primary(
    sealer: BackupSealer, backup: Path, backup_keyring: Keyring, ledger: Ledger
) -> None:
    before = backup.read_bytes()
    old = Manifest.from_json(manifest_path(backup).read_bytes())
    assert sealer.rewrap_header(backup) is False  # already under the primary
    assert backup.read_bytes() == before

    new_kid = backup_keyring.rotate(sealer.context)
    assert sealer.rewrap_header(backup) is True
    after = backup.read_bytes()
    header = 37 + 2 + int.from_bytes(before[37:39], "big")
    assert after[header:] == before[header:]  # the chunks are untouched
    assert after[:header] != before[:header]

    manifest = sealer.verify_manifest(backup)  # the manifest was rewritten to match
    assert manifest.kid == new_kid != old.kid
    assert manifest.backup_id == old.backup_id
    assert manifest.source == old.source
    usage = ledger.usage("prod", sealer.context)
    assert [(u.dataset, dict(u.kids)) for u in usage] == [(f"backup:{old.backup_id}", {new_kid: 1})]
    assert sealer.rewrap_header(backup) is False

    # The old key can now be retired without losing the backup.
    backup_keyring.set_state(sealer.context, old.kid, KeyState.DISABLED)
    sealer.restore_file(backup, backup.with_name("restored"))
    assert backup.with_name("restored").read_bytes() == DATA


def test_rewrap_header_rescues_a_backup_from_a_compromised_key(
    sealer: BackupSealer, backup: Path, backup_keyring: Keyring
) -> None:
    old = Manifest.from_json(manifest_path(backup).read_bytes())
    backup_keyring.set_state(sealer.context, old.kid, KeyState.COMPROMISED)
    with pytest.raises(DecryptionError) as e:
        sealer.restore_file(backup, backup.with_name("restored"))
    assert e.value.reason is Reason.KEY_COMPROMISED
    assert sealer.rewrap_header(backup) is True
    assert sealer.restore_file(backup, backup.with_name("restored")).kid != old.kid
    assert backup.with_name("restored").read_bytes() == DATA


def test_rewrap_header_refuses_damaged_backups(sealer: BackupSealer, backup: Path) -> None:
    good = backup.read_bytes()
    backup.write_bytes(good[:-88])  # ends 5 bytes into the final chunk: shorter than a tag
    with pytest.raises(DecryptionError) as e:
        sealer.rewrap_header(backup)
    assert e.value.reason is Reason.MALFORMED
    backup.write_bytes(good[:45] + bytes([good[45] ^ 1]) + good[46:])  # inside the DEK blob
    with pytest.raises(DecryptionError):
        sealer.rewrap_header(backup)
    with pytest.raises(ConfigurationError, match="cannot re-key"):
        sealer.rewrap_header(backup.with_name("missing"))


# -- manifests -------------------------------------------------------------------------


def test_manifest_is_verified_and_tampering_detected(sealer: BackupSealer, backup: Path) -> None:
    path = manifest_path(backup)
    assert path.name == "dump.crbk.manifest.json"
    good = json.loads(path.read_bytes())
    assert sealer.verify_manifest(backup) == Manifest.from_json(good)

    for field, value in [
        ("plaintext_bytes", good["plaintext_bytes"] + 1),
        ("chunk_count", good["chunk_count"] - 1),
        ("kid", good["kid"] ^ 1),
        ("sha256", "0" * 64),
        ("tenant", "globex"),
        ("created", "2031-01-01T00:00:00+00:00"),
    ]:
        path.write_text(json.dumps({**good, field: value}))
        with pytest.raises(VerificationError) as e:
            sealer.verify_manifest(backup)
        assert e.value.reason is Reason.DIGEST_MISMATCH, field
    # The source label is free text: changing it is not tampering with the backup.
    path.write_text(json.dumps({**good, "source": "relabelled"}))
    assert sealer.verify_manifest(backup).source == "relabelled"

    path.write_text("{not json")
    with pytest.raises(VerificationError) as e:
        sealer.verify_manifest(backup)
    assert e.value.reason is Reason.MALFORMED
    path.unlink()
    with pytest.raises(ConfigurationError, match="cannot read"):
        sealer.verify_manifest(backup)
    # A damaged backup fails as a backup, whatever the manifest says.
    data = backup.read_bytes()
    backup.write_bytes(data[:-1])
    with pytest.raises(DecryptionError):
        sealer.verify_manifest(backup, Manifest.from_json(good))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "format is not cryptorails/v1/backup-manifest"),
        ({"kid": True}, "'kid' must be a non-negative int"),
        ({"chunk_count": -1}, "'chunk_count' must be a non-negative int"),
        ({"tenant": None}, "'tenant' must be a string"),
        ({"created": "2030-01-01T00:00:00"}, "'created' must be an ISO 8601 time with zone"),
        ({"created": "yesterday"}, "'created' must be an ISO 8601 time with zone"),
    ],
)
def test_manifest_from_json_rejects_bad_fields(
    sealer: BackupSealer, backup: Path, change: dict[str, object], message: str
) -> None:
    good = json.loads(manifest_path(backup).read_bytes())
    with pytest.raises(ValueError, match=message):
        Manifest.from_json({**good, **change})
    with pytest.raises(ValueError, match="not a JSON object"):
        Manifest.from_json("[]")
    with pytest.raises(ValueError, match="invalid JSON"):
        Manifest.from_json(b"\xff")


# -- the ledger ------------------------------------------------------------------------


def test_backups_are_recorded_in_the_ledger(
    sealer: BackupSealer, tmp_path: Path, ledger: Ledger
) -> None:
    (tmp_path / "a.sql").write_bytes(b"rows")
    made = sealer.seal_file(tmp_path / "a.sql", tmp_path / "a.crbk")
    streamed = sealer.seal_stream(io.BytesIO(b"more"), io.BytesIO(), source="s3://bucket/b.crbk")
    usage = {u.dataset: u for u in ledger.usage("prod", sealer.context)}
    assert set(usage) == {f"backup:{made.backup_id}", f"backup:{streamed.backup_id}"}
    first = usage[f"backup:{made.backup_id}"]
    assert (first.kind, dict(first.kids), first.location) == (
        "backup",
        {made.kid: 1},
        str(tmp_path / "a.crbk"),
    )
    assert usage[f"backup:{streamed.backup_id}"].location == "s3://bucket/b.crbk"


def test_no_ledger_no_records(backup_keyring: Keyring, tmp_path: Path, ledger: Ledger) -> None:
    sealer = BackupSealer(backup_keyring, tenant=TENANT, clock=FixedClock())
    (tmp_path / "a.sql").write_bytes(b"rows")
    sealer.seal_file(tmp_path / "a.sql", tmp_path / "a.crbk")
    assert ledger.usage("prod", sealer.context) == []
