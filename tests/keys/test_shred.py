"""The key ledger (tombstones, usage) on every store backend, and crypto-shredding.

The promise under test: once a tenant is shredded, nothing sealed under its keys opens
again — not even after the keystore folder is restored from a copy taken before the shred.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cryptorails import ConfigurationError, Context, DecryptionError, PolicyError, Reason, Sealer
from cryptorails.keys import Keyring, Ledger, LocalKek, WrappedTenantKeks
from cryptorails.testing import FixedClock

A = Context("tenant-a", "email")
A2 = Context("tenant-a", "files")
B = Context("tenant-b", "email")


def test_ledger_records_on_every_backend(store_backend: object) -> None:
    ledger = Ledger(store_backend.open(), clock=FixedClock())  # type: ignore[attr-defined]
    assert ledger.tombstone("prod", "tenant-a") is None
    first = ledger.add_tombstone("prod", "tenant-a", [A, A2], [7, 3, 7], note="ticket 12")
    assert first.kids == (3, 7)
    assert first.contexts == (A, A2)
    # A second shred keeps the first record (its time and key list).
    again = ledger.add_tombstone("prod", "tenant-a", [], [99])
    assert again == first
    assert ledger.tombstone("staging", "tenant-a") is None
    assert [t.tenant for t in ledger.tombstones("prod")] == ["tenant-a"]

    ledger.record_usage("prod", A, "sqlite:///app.db#users.email", {5: 10, 6: 0})
    ledger.record_usage("prod", A, "backup-1", {5: 2}, kind="backup", location="/b/1")
    ledger.record_usage("prod", B, "sqlite:///app.db#users.email", {9: 4})
    usage = ledger.usage("prod", A)
    assert [(u.dataset, u.kind, dict(u.kids)) for u in usage] == [
        ("backup-1", "backup", {5: 2}),
        ("sqlite:///app.db#users.email", "dataset", {5: 10}),
    ]
    assert {u.context for u in ledger.usage("prod")} == {A, B}
    ledger.record_usage("prod", A, "backup-1", {})
    assert [u.dataset for u in ledger.usage("prod", A)] == ["sqlite:///app.db#users.email"]


def test_ledger_rejects_bad_usage_arguments(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite://{tmp_path / 'ledger.db'}")
    with pytest.raises(ValueError, match="kind"):
        ledger.record_usage("prod", A, "x", {1: 1}, kind="other")
    with pytest.raises(ValueError, match="dataset"):
        ledger.record_usage("prod", A, "", {1: 1})


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    # A separate file, outside the keystore folder.
    return Ledger.open(f"sqlite://{tmp_path / 'ledger.db'}")


def _open(path: Path, kek: LocalKek, ledger: Ledger | None, **kw: object) -> Keyring:
    return Keyring.open(path, kek=kek, environment="prod", ledger=ledger, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("tenant_keks", [False, True], ids=["one-kek", "tenant-keks"])
def test_shredded_tenant_stays_unreadable_after_restoring_an_old_keystore_copy(
    tmp_path: Path, ledger: Ledger, tenant_keks: bool
) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    ks = tmp_path / "keystore"
    keyring = _open(ks, kek, ledger, create=True, tenant_keks=tenant_keks or None)
    sealer = Sealer(keyring)
    blob_a = sealer.seal(b"alice@example.com", A)
    blob_a2 = sealer.seal(b"file", A2)
    blob_b = sealer.seal(b"bob@example.com", B)
    shutil.copytree(ks, tmp_path / "copy-before-shred")

    report = keyring.shred("tenant-a", note="GDPR erasure 2026-11")
    assert report.keysets_deleted == 2
    assert report.tenant_kek_destroyed is tenant_keks
    assert set(report.tombstone.contexts) == {A, A2}
    for blob, ctx in ((blob_a, A), (blob_a2, A2)):
        with pytest.raises(DecryptionError) as e:
            sealer.open(blob, ctx)
        assert e.value.reason is Reason.TENANT_SHREDDED
    with pytest.raises(PolicyError, match="tenant-a was shredded"):
        keyring.keyset(A)  # the id cannot get new keys either

    # Restore the whole keystore folder from before the shred.
    shutil.rmtree(ks)
    shutil.copytree(tmp_path / "copy-before-shred", ks)
    restored = Sealer(_open(ks, kek, ledger))
    for blob, ctx in ((blob_a, A), (blob_a2, A2)):
        with pytest.raises(DecryptionError) as e:
            restored.open(blob, ctx)
        assert e.value.reason is Reason.TENANT_SHREDDED
    assert restored.open(blob_b, B) == b"bob@example.com"  # other tenants unaffected


def test_tenant_kek_destruction_alone_stops_a_keyring_without_the_ledger(
    tmp_path: Path, ledger: Ledger
) -> None:
    # With tenant KEKs kept outside the keystore copy (here: a separate folder standing in
    # for an HSM or KMS), even a keyring opened without the ledger cannot read a restored
    # copy: the key that wrapped the tenant's keysets no longer exists anywhere.
    kek = LocalKek.generate(tmp_path / "kek")
    tenant_keks = WrappedTenantKeks(kek, tmp_path / "tenant-keks-elsewhere")
    ks = tmp_path / "keystore"
    keyring = _open(ks, kek, ledger, create=True, tenant_keks=tenant_keks)
    blob = Sealer(keyring).seal(b"x", A)
    shutil.copytree(ks, tmp_path / "copy")
    keyring.shred("tenant-a")
    shutil.rmtree(ks)
    shutil.copytree(tmp_path / "copy", ks)
    no_ledger = _open(ks, kek, None, tenant_keks=tenant_keks)
    with pytest.raises(ConfigurationError, match="KEK of tenant tenant-a is gone"):
        Sealer(no_ledger).open(blob, A)


def test_shred_needs_a_ledger_and_is_idempotent(tmp_path: Path, ledger: Ledger) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    ks = tmp_path / "keystore"
    with pytest.raises(ConfigurationError, match="needs a key ledger"):
        _open(ks, kek, None, create=True).shred("tenant-a")
    keyring = _open(ks, kek, ledger, tenant_keks=None)
    keyring.keyset(A)
    first = keyring.shred("tenant-a")
    second = keyring.shred("tenant-a")
    assert second.tombstone == first.tombstone
    assert second.keysets_deleted == 0
    assert keyring.contexts() == []


def test_keystore_records_its_tenant_kek_provider(tmp_path: Path) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True, tenant_keks=True)
    # Found again without being named...
    reopened = Keyring.open(tmp_path / "ks", kek=kek, environment="prod")
    reopened.keyset(A)
    assert (tmp_path / "ks" / "tenant-keks").is_dir()
    # ...but another provider, or none on a keystore made without, is refused.
    other = WrappedTenantKeks(LocalKek.generate(tmp_path / "kek2"), tmp_path / "elsewhere")
    with pytest.raises(ConfigurationError, match="open it with that provider"):
        Keyring.open(tmp_path / "ks", kek=kek, environment="prod", tenant_keks=other)
    Keyring.open(tmp_path / "plain", kek=kek, environment="prod", create=True)
    with pytest.raises(ConfigurationError, match="without per-tenant KEKs"):
        Keyring.open(tmp_path / "plain", kek=kek, environment="prod", tenant_keks=True)


def test_each_tenant_has_its_own_kek(tmp_path: Path) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    tenant_keks = WrappedTenantKeks(kek, tmp_path / "tk")
    a = tenant_keks.kek("tenant-a", create=True)
    b = tenant_keks.kek("tenant-b", create=True)
    assert a is not None
    assert b is not None
    assert a.kek_id != b.kek_id
    assert tenant_keks.kek("tenant-a", create=False).kek_id == a.kek_id  # type: ignore[union-attr]
    assert sorted(tenant_keks.tenants()) == ["tenant-a", "tenant-b"]
    # A tenant KEK file copied under another tenant's name does not unwrap.
    files = {t: tenant_keks._file(t) for t in ("tenant-a", "tenant-b")}
    files["tenant-b"].write_bytes(files["tenant-a"].read_bytes())
    with pytest.raises(ConfigurationError, match="does not authenticate"):
        tenant_keks.kek("tenant-b", create=False)
    assert tenant_keks.destroy("tenant-a") is True
    assert tenant_keks.destroy("tenant-a") is False
    assert tenant_keks.kek("tenant-a", create=False) is None
