"""find_keystore_copies over real keystores, archives, logs and backups."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from cryptorails import Context, Sealer
from cryptorails.backups import BackupSealer, KeystoreCopy, find_keystore_copies
from cryptorails.keys import Keyring, LocalKek
from cryptorails.redact._known import KnownMaterial

from .helpers import TENANT

EMAIL = Context(TENANT, "user-email")
FILES = Context("globex", "files")


@pytest.fixture
def live(tmp_path: Path) -> tuple[Keyring, LocalKek]:
    """A live keystore with two keysets, and its KEK file at tmp/live-kek."""
    kek = LocalKek.generate(tmp_path / "live-kek")
    keyring = Keyring.open(tmp_path / "live", kek=kek, environment="prod", create=True)
    sealer = Sealer(keyring)
    sealer.seal(b"alice@example.com", EMAIL)
    sealer.seal(b"report.pdf", FILES)
    return keyring, kek


def _tar(path: Path, mode: str, entries: dict[str, bytes | Path]) -> Path:
    with tarfile.open(path, mode) as tar:
        for name, content in entries.items():
            if isinstance(content, Path):
                tar.add(content, arcname=name)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def _kinds(found: list[KeystoreCopy]) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.kind, c.member) for c in found]


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_keystore_folder_and_kek_in_a_tarball(
    tmp_path: Path, live: tuple[Keyring, LocalKek], mode: str
) -> None:
    _, kek = live
    nightly = _tar(
        tmp_path / "nightly.tar",
        mode,
        {"etc/keys": tmp_path / "live", "etc/kek": tmp_path / "live-kek"},
    )
    found = find_keystore_copies([nightly])
    keysets = sorted(p.name for p in (tmp_path / "live" / "keysets").iterdir())
    assert _kinds(found) == [  # sorted by member
        ("kek", ("etc/kek",)),
        *[("keyset", (f"etc/keys/keysets/{name}",)) for name in keysets],
        ("keystore", ("etc/keys/keystore.json",)),
    ]
    kek_copy, keystore = found[0], found[3]
    # The KEK file is recognised by the id the keystore copy records: no material needed.
    assert kek_copy.kek_id == keystore.kek_id == kek.kek_id
    assert keystore.environment == "prod"
    assert {(c.tenant, c.purpose, c.environment) for c in found[1:3]} == {
        (TENANT, "user-email", "prod"),
        ("globex", "files", "prod"),
    }
    assert all(c.path == str(nightly) for c in found)


def test_kek_file_alone_is_found_by_id_or_by_material(tmp_path: Path, live: object) -> None:
    kek_file = tmp_path / "live-kek"
    assert find_keystore_copies([kek_file]) == []  # 32 bytes of noise, as far as we know
    by_id = find_keystore_copies([kek_file], kek_ids=[LocalKek.from_file(kek_file).kek_id])
    assert _kinds(by_id) == [("kek", ())]
    known = KnownMaterial()
    known.add(kek_file.read_bytes())
    assert _kinds(find_keystore_copies([kek_file], known=known)) == [("kek", ())]
    hex_file = tmp_path / "kek.hex"
    hex_file.write_text(kek_file.read_bytes().hex() + "\n")
    assert _kinds(find_keystore_copies([hex_file], known=known)) == [("kek", ())]


def test_tenant_keks_are_found(tmp_path: Path) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    keyring = Keyring.open(
        tmp_path / "ks", kek=kek, environment="staging", create=True, tenant_keks=True
    )
    Sealer(keyring).seal(b"x", EMAIL)
    found = find_keystore_copies([_tar(tmp_path / "ks.tar.gz", "w:gz", {"ks": tmp_path / "ks"})])
    assert sorted(c.kind for c in found) == ["keyset", "keystore", "tenant-kek"]
    assert [c.tenant for c in found if c.kind == "tenant-kek"] == [TENANT]


def test_keyset_file_in_a_zip(tmp_path: Path, live: object) -> None:
    keyset = next((tmp_path / "live" / "keysets").iterdir())
    with zipfile.ZipFile(tmp_path / "export.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", "nothing here")
        z.write(keyset, "backup/keyset.json")
    found = find_keystore_copies([tmp_path / "export.zip"])
    assert _kinds(found) == [("keyset", ("backup/keyset.json",))]
    assert found[0].environment == "prod"


def test_base64_key_in_a_log_file(tmp_path: Path, live: tuple[Keyring, LocalKek]) -> None:
    keyring, _ = live
    material = keyring.keyset(EMAIL).primary.material
    assert material is not None
    line = b"2030-01-01 DEBUG loaded key=" + base64.b64encode(material.reveal()) + b"\n"
    log = b"2030-01-01 INFO started\n" * 1000 + line + b"2030-01-01 INFO done\n"
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_bytes(log)
    (tmp_path / "logs" / "app.log.1.gz").write_bytes(gzip.compress(log))
    known = KnownMaterial.from_keyring(keyring)
    found = find_keystore_copies([tmp_path / "logs"], known=known)
    offset = log.index(line) + len(b"2030-01-01 DEBUG loaded key=")
    assert [(Path(c.path).name, c.kind, c.offsets) for c in found] == [
        ("app.log", "key-material", (offset,)),
        ("app.log.1.gz", "key-material", (offset,)),
    ]
    # Nothing in a finding repeats the material.
    text = json.dumps([c.to_json() for c in found])
    assert base64.b64encode(material.reveal()).decode() not in text
    assert find_keystore_copies([tmp_path / "logs"]) == []  # without `known`, nothing to match


def test_key_before_the_damage_in_a_cut_gzip_log_is_still_reported(
    tmp_path: Path, live: tuple[Keyring, LocalKek]
) -> None:
    keyring, _ = live
    material = keyring.keyset(EMAIL).primary.material
    assert material is not None
    log = b"key=" + base64.urlsafe_b64encode(material.reveal()) + b"\n" + os.urandom(1 << 18)
    packed = gzip.compress(log)
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) // 2])
    found = find_keystore_copies(
        [tmp_path / "cut.log.gz"], known=KnownMaterial.from_keyring(keyring)
    )
    assert [(c.kind, c.offsets, c.detail) for c in found] == [
        ("key-material", (4,), ""),
        ("unreadable", (), "corrupt or truncated gzip data (TruncatedError)"),
    ]
    assert found[1].to_json() == {
        "path": str(tmp_path / "cut.log.gz"),
        "member": [],
        "kind": "unreadable",
        "environment": None,
        "tenant": None,
        "purpose": None,
        "kek_id": None,
        "offsets": [],
        "detail": "corrupt or truncated gzip data (TruncatedError)",
    }
    assert found[0].location == str(tmp_path / "cut.log.gz")


def test_key_split_across_read_pieces_is_found(
    tmp_path: Path, live: tuple[Keyring, LocalKek]
) -> None:
    keyring, _ = live
    material = keyring.keyset(FILES).primary.material
    assert material is not None
    encoded = material.reveal().hex().encode()
    start = (1 << 20) - 20  # straddles the first 1 MiB piece boundary
    data = b"a" * start + encoded + b"b" * 1000
    (tmp_path / "dump.bin").write_bytes(data)
    found = find_keystore_copies([tmp_path / "dump.bin"], known=KnownMaterial.from_keyring(keyring))
    assert [(c.kind, c.offsets) for c in found] == [("key-material", (start,))]


def test_keystore_inside_a_backup_is_found_only_with_its_sealer(
    tmp_path: Path, live: object, sealer: BackupSealer
) -> None:
    tarball = _tar(tmp_path / "etc.tar", "w", {"keystore": tmp_path / "live"})
    manifest = sealer.seal_file(tarball, tmp_path / "etc.crbk")
    tarball.unlink()
    (tmp_path / "etc.crbk.manifest.json").unlink()

    without = find_keystore_copies([tmp_path / "etc.crbk"])
    assert [(c.kind, c.member, c.detail) for c in without] == [
        ("unreadable", (), "cryptorails backup that no given BackupSealer opens")
    ]
    found = find_keystore_copies([tmp_path / "etc.crbk"], backup_sealers=[sealer])
    inside = f"<backup {manifest.backup_id}>"
    assert _kinds(found)[2] == ("keystore", (inside, "keystore/keystore.json"))
    assert sorted(c.kind for c in found) == ["keyset", "keyset", "keystore"]
    assert all(c.member[0] == inside for c in found)


def test_backup_nested_in_a_zip_in_a_tarball(
    tmp_path: Path, live: object, sealer: BackupSealer
) -> None:
    (tmp_path / "live.json").write_bytes((tmp_path / "live" / "keystore.json").read_bytes())
    sealer.seal_file(tmp_path / "live.json", tmp_path / "ks.crbk")
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as z:
        z.write(tmp_path / "ks.crbk", "ks.crbk")
    outer = _tar(tmp_path / "outer.tar.xz", "w:xz", {"inner.zip": tmp_path / "inner.zip"})
    found = find_keystore_copies([outer], backup_sealers=[sealer])
    assert [(c.kind, c.member[:2]) for c in found] == [("keystore", ("inner.zip", "ks.crbk"))]
    assert find_keystore_copies([outer], backup_sealers=[sealer], max_depth=3)[0].detail == (
        "backup nested deeper than 3"
    )


def test_corrupt_archives_are_reported_not_raised(tmp_path: Path, live: object) -> None:
    good = _tar(tmp_path / "ks.tar.gz", "w:gz", {"ks": tmp_path / "live"}).read_bytes()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cut.tar.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "bad" / "fake.zip").write_bytes(b"PK\x03\x04" + bytes(200))
    (tmp_path / "bad" / "fake.tar.bz2").write_bytes(b"BZh9" + bytes(600))
    found = find_keystore_copies([tmp_path / "bad"])
    assert [(Path(c.path).name, c.kind, c.detail) for c in found if c.kind == "unreadable"] == [
        ("cut.tar.gz", "unreadable", "corrupt or truncated gzip data (TruncatedError)"),
        ("fake.tar.bz2", "unreadable", "corrupt or truncated bzip2 data (OSError)"),
        ("fake.zip", "unreadable", "corrupt or truncated zip data (BadZipFile)"),
    ]


def test_clean_archives_give_no_findings(tmp_path: Path) -> None:
    clean = _tar(
        tmp_path / "site.tar.gz",
        "w:gz",
        {"index.html": b"<html></html>", "data.json": json.dumps({"format": "other"}).encode()},
    )
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as z:
        z.writestr("a.txt", "plain text " * 100)
    assert find_keystore_copies([clean, tmp_path / "docs.zip"], known=KnownMaterial()) == []


def test_limits_stop_a_scan_without_raising(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(bytes(5 << 20)))
    found = find_keystore_copies([bomb], max_bytes=1 << 20)
    assert [(c.kind, c.detail) for c in found] == [
        ("unreadable", f"stopped after {1 << 20} decoded bytes")
    ]
    many = _tar(tmp_path / "many.tar", "w", {f"f{i}": b"x" for i in range(20)})
    found = find_keystore_copies([many], max_members=5)
    assert [(c.kind, c.detail) for c in found] == [("unreadable", "more than 5 members")]
    with pytest.raises(ValueError, match="max_bytes"):
        find_keystore_copies([many], max_bytes=0)


def test_missing_paths_and_fifos_are_reported(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # named explicitly: must be reported, not block the scan
    found = find_keystore_copies([tmp_path / "nope", tmp_path / "fifo"])
    assert [(Path(c.path).name, c.kind, c.detail) for c in found] == [
        ("fifo", "unreadable", "not a regular file"),
        ("nope", "unreadable", "cannot read: No such file or directory"),
    ]
    with pytest.raises(TypeError, match="not one string"):
        find_keystore_copies([tmp_path], kek_ids="abc")


def test_damaged_archives_and_backups_never_raise(
    tmp_path: Path, live: object, sealer: BackupSealer
) -> None:
    tar_gz = _tar(tmp_path / "a.tar.gz", "w:gz", {"ks": tmp_path / "live"}).read_bytes()
    tar_xz = _tar(tmp_path / "a.tar.xz", "w:xz", {"ks": tmp_path / "live"}).read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "live" / "keystore.json", "keystore.json")
    plain = _tar(tmp_path / "a.tar", "w", {"ks": tmp_path / "live"})
    sealer.seal_file(plain, tmp_path / "a.crbk")
    samples = [
        tar_gz,
        tar_xz,
        (tmp_path / "a.zip").read_bytes(),
        (tmp_path / "a.crbk").read_bytes(),
    ]
    rng = random.Random(1234)  # a fixed seed: the same damage on every run
    target = tmp_path / "damaged"
    for i in range(120):
        data = bytearray(samples[i % len(samples)])
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        target.write_bytes(bytes(data))
        found = find_keystore_copies([target], backup_sealers=[sealer])
        assert all(c.kind in {"unreadable", "keystore", "keyset"} for c in found)
