"""The file keystore: environment and KEK binding, tamper detection, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cryptorails import (
    ConfigurationError,
    Context,
    DecryptionError,
    Keyring,
    KeyState,
    LocalKek,
    Reason,
    Sealer,
)
from cryptorails.keys import _stores, keystore_environment

A = Context("tenant-a", "email")
B = Context("tenant-b", "email")


@pytest.fixture
def kek(tmp_path: Path) -> LocalKek:
    return LocalKek.generate(tmp_path / "kek")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "keystore"


def test_open_requires_an_existing_keystore(store: Path, kek: LocalKek) -> None:
    with pytest.raises(ConfigurationError, match="no keystore at"):
        Keyring.open(store, kek=kek, environment="prod")
    assert not store.exists()


def test_keystore_persists_and_is_private(store: Path, kek: LocalKek) -> None:
    kr = Keyring.open(store, kek=kek, environment="prod", create=True)
    blob = Sealer(kr).seal(b"secret data", A)
    kid = kr.rotate(A)

    again = Keyring.open(store, kek=kek, environment="prod")
    assert again.keyset(A).primary.kid == kid
    assert Sealer(again).open(blob, A) == b"secret data"
    assert keystore_environment(store) == "prod"
    assert (store.stat().st_mode & 0o777) == 0o700
    files = list((store / "keysets").iterdir())
    assert len(files) == 1
    assert (files[0].stat().st_mode & 0o777) == 0o600
    assert not any(p.name.endswith(".tmp") for p in (store / "keysets").iterdir())
    # key material never appears in the clear
    material = again.keyset(A).primary.material
    assert material is not None
    assert material.reveal().hex() not in files[0].read_text()


def test_environment_is_bound(store: Path, kek: LocalKek) -> None:
    Keyring.open(store, kek=kek, environment="staging", create=True).keyset(A)
    with pytest.raises(ConfigurationError, match="belongs to environment 'staging', not 'prod'"):
        Keyring.open(store, kek=kek, environment="prod")
    # editing the environment in keystore.json does not help: keysets are bound to it
    meta = json.loads((store / "keystore.json").read_text())
    meta["environment"] = "prod"
    (store / "keystore.json").write_text(json.dumps(meta))
    kr = Keyring.open(store, kek=kek, environment="prod")
    for path in (store / "keysets").iterdir():  # rename to where prod would look
        path.rename(kr._store._file(A))  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="does not authenticate"):
        kr.keyset(A)


def test_wrong_kek_is_refused(store: Path, kek: LocalKek, tmp_path: Path) -> None:
    Keyring.open(store, kek=kek, environment="prod", create=True)
    other = LocalKek.generate(tmp_path / "other-kek")
    with pytest.raises(ConfigurationError, match="different KEK"):
        Keyring.open(store, kek=other, environment="prod")


def test_tampered_keyset_file_is_refused(store: Path, kek: LocalKek) -> None:
    kr = Keyring.open(store, kek=kek, environment="prod", create=True)
    kr.keyset(A)
    (path,) = (store / "keysets").iterdir()
    outer = json.loads(path.read_text())
    wrapped = bytearray(__import__("base64").b64decode(outer["wrapped"]))
    wrapped[40] ^= 1
    outer["wrapped"] = __import__("base64").b64encode(bytes(wrapped)).decode()
    path.write_text(json.dumps(outer))
    with pytest.raises(ConfigurationError, match="does not authenticate"):
        Keyring.open(store, kek=kek, environment="prod").keyset(A)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        Keyring.open(store, kek=kek, environment="prod").keyset(A)


def test_keyset_copied_to_another_tenant_does_not_load(store: Path, kek: LocalKek) -> None:
    kr = Keyring.open(store, kek=kek, environment="prod", create=True)
    kr.keyset(A)
    kr.keyset(B)
    fresh = Keyring.open(store, kek=kek, environment="prod")
    shutil.copy(fresh._store._file(A), fresh._store._file(B))  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="does not authenticate"):
        fresh.keyset(B)


def test_contexts_lists_every_keyset(store: Path, kek: LocalKek) -> None:
    kr = Keyring.open(store, kek=kek, environment="prod", create=True)
    for ctx in (A, B, Context("tenant/with/slashes", "ünïcode")):
        kr.keyset(ctx)
    assert sorted(kr.contexts(), key=lambda c: c.tenant) == sorted(
        [A, B, Context("tenant/with/slashes", "ünïcode")], key=lambda c: c.tenant
    )


def test_changes_by_another_process_are_seen(store: Path, kek: LocalKek) -> None:
    serving = Keyring.open(store, kek=kek, environment="prod", create=True, refresh_interval=0)
    operator = Keyring.open(store, kek=kek, environment="prod")
    sealer = Sealer(serving)
    blob = sealer.seal(b"x", A)
    old = serving.keyset(A).primary.kid
    new = operator.rotate(A)
    assert sealer.seal(b"y", A)[2:6] == new.to_bytes(4, "big")
    operator.set_state(A, old, KeyState.DISABLED)
    with pytest.raises(DecryptionError) as info:
        sealer.open(blob, A)
    assert info.value.reason is Reason.KEY_DISABLED


def test_blob_sealed_after_cache_went_stale_still_opens(store: Path, kek: LocalKek) -> None:
    # A reader with a long refresh interval meets a kid rotated in elsewhere: it
    # re-reads the same keyset once rather than failing.
    reader = Keyring.open(store, kek=kek, environment="prod", create=True, refresh_interval=3600)
    writer = Keyring.open(store, kek=kek, environment="prod")
    Sealer(reader).seal(b"warm the cache", A)
    writer.rotate(A)
    blob = Sealer(writer).seal(b"fresh", A)
    assert Sealer(reader).open(blob, A) == b"fresh"


def test_failed_write_leaves_the_old_keyset(
    store: Path, kek: LocalKek, monkeypatch: pytest.MonkeyPatch
) -> None:
    kr = Keyring.open(store, kek=kek, environment="prod", create=True)
    blob = Sealer(kr).seal(b"x", A)
    (path,) = (store / "keysets").iterdir()
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_stores.os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        kr.rotate(A)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in (store / "keysets").iterdir()) == [path.name]
    fresh = Keyring.open(store, kek=kek, environment="prod")
    assert len(fresh.keyset(A)) == 1
    assert Sealer(fresh).open(blob, A) == b"x"


def test_keystore_environment_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no keystore"):
        keystore_environment(tmp_path)
    (tmp_path / "keystore.json").write_text("[]")
    with pytest.raises(ConfigurationError, match="not a JSON object"):
        keystore_environment(tmp_path)
    (tmp_path / "keystore.json").write_text('{"format": "other"}')
    with pytest.raises(ConfigurationError, match="not a cryptorails keystore"):
        keystore_environment(tmp_path)


def test_kek_must_implement_protocol(store: Path) -> None:
    with pytest.raises(TypeError, match="Kek protocol"):
        Keyring.open(store, kek=os.urandom(32), environment="prod", create=True)  # type: ignore[arg-type]
