"""BackupSealer: roundtrips, every way a backup can be damaged, tenants and keyrings."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from cryptorails import ConfigurationError, Context, DecryptionError, Reason, Sealer
from cryptorails.backups import BackupSealer, Manifest, manifest_path
from cryptorails.keys import Keyring, LocalKek
from cryptorails.testing import FixedClock

from .helpers import CHUNK, TENANT

FIXED = 37  # magic, version, id, created, chunk size
FULL = CHUNK + 16


def _header_size(backup: bytes) -> int:
    return FIXED + 2 + int.from_bytes(backup[FIXED : FIXED + 2], "big")


def _seal(sealer: BackupSealer, data: bytes) -> tuple[bytes, Manifest]:
    out = io.BytesIO()
    manifest = sealer.seal_stream(io.BytesIO(data), out, source="unit test")
    return out.getvalue(), manifest


# -- roundtrips ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunks"),
    [(0, 1), (1, 1), (CHUNK - 1, 1), (CHUNK, 1), (CHUNK + 1, 2), (5 * CHUNK + 17, 6)],
    ids=["empty", "one-byte", "under-one-chunk", "one-chunk", "one-chunk-plus-one", "many"],
)
def test_stream_roundtrip(sealer: BackupSealer, clock: FixedClock, size: int, chunks: int) -> None:
    data = os.urandom(size)
    backup, manifest = _seal(sealer, data)
    assert manifest.chunk_count == chunks
    assert manifest.plaintext_bytes == size
    assert manifest.chunk_size == CHUNK
    assert (manifest.tenant, manifest.purpose, manifest.environment) == (TENANT, "backup", "prod")
    assert manifest.created == clock.now()
    assert manifest.kid == sealer.keyring.keyset(sealer.context).primary.kid
    assert manifest.sha256 == hashlib.sha256(backup).hexdigest()
    assert manifest.source == "unit test"
    assert len(backup) == _header_size(backup) + size + 16 * chunks
    if size >= 16:
        assert data[:16] not in backup

    out = io.BytesIO()
    opened = sealer.open_stream(io.BytesIO(backup), out)
    assert out.getvalue() == data
    assert opened.differences(manifest) == []
    assert opened.source == ""  # the label is not part of the backup


def test_each_backup_has_its_own_id_and_data_key(sealer: BackupSealer) -> None:
    a, ma = _seal(sealer, b"same data" * 200)
    b, mb = _seal(sealer, b"same data" * 200)
    assert ma.backup_id != mb.backup_id
    assert a[_header_size(a) :] != b[_header_size(b) :]


def test_file_roundtrip_writes_backup_and_manifest(sealer: BackupSealer, tmp_path: Path) -> None:
    src = tmp_path / "dump.sql"
    src.write_bytes(os.urandom(3 * CHUNK + 5))
    manifest = sealer.seal_file(src, tmp_path / "dump.crbk")
    assert manifest.source == str(src)
    stored = Manifest.from_json(manifest_path(tmp_path / "dump.crbk").read_bytes())
    assert stored == manifest
    assert hashlib.sha256((tmp_path / "dump.crbk").read_bytes()).hexdigest() == manifest.sha256
    assert (tmp_path / "dump.crbk").stat().st_mode & 0o777 == 0o600
    restored = sealer.restore_file(tmp_path / "dump.crbk", tmp_path / "restored.sql")
    assert (tmp_path / "restored.sql").read_bytes() == src.read_bytes()
    assert restored.differences(manifest) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_fifty_megabytes_stream_in_bounded_memory(tmp_path: Path, backup_keyring: Keyring) -> None:
    sealer = BackupSealer(backup_keyring, tenant=TENANT)  # default 64 KiB chunks
    src = tmp_path / "big.bin"
    size = 50 * (1 << 20) + 12345
    expected = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(50):
            block = os.urandom(1 << 20)
            expected.update(block)
            f.write(block)
        tail = os.urandom(12345)
        expected.update(tail)
        f.write(tail)
    tracemalloc.start()
    try:
        sealed = sealer.seal_file(src, tmp_path / "big.crbk")
        _, seal_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        restored = sealer.restore_file(tmp_path / "big.crbk", tmp_path / "big.out")
        _, open_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two chunks in flight plus overhead: far below the 50 MiB that passed through.
    assert seal_peak < 2 << 20
    assert open_peak < 2 << 20
    assert sealed.plaintext_bytes == restored.plaintext_bytes == size
    assert restored.chunk_count == size // (1 << 16) + 1
    got = hashlib.sha256()
    with open(tmp_path / "big.out", "rb") as f:
        while block := f.read(1 << 20):
            got.update(block)
    assert got.hexdigest() == expected.hexdigest()


# -- damage: every one fails with DecryptionError and leaves nothing behind --------------

DATA = os.urandom(4 * CHUNK + 100)  # four full chunks and a final one of 100 bytes


def _chunk(b: bytes, i: int) -> tuple[int, int]:
    start = _header_size(b) + i * FULL
    return start, min(start + FULL, len(b))


def _flip(offset: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    def mutate(b: bytes) -> bytes:
        at = offset(b)
        return b[:at] + bytes([b[at] ^ 0x01]) + b[at + 1 :]

    return mutate


def _swap(b: bytes) -> bytes:
    (s1, e1), (s2, e2) = _chunk(b, 1), _chunk(b, 2)
    return b[:s1] + b[s2:e2] + b[s1:e1] + b[e2:]


def _duplicate(b: bytes) -> bytes:
    s, e = _chunk(b, 1)
    return b[:e] + b[s:e] + b[e:]


def _drop_middle(b: bytes) -> bytes:
    s, e = _chunk(b, 2)
    return b[:s] + b[e:]


def _append_chunk(b: bytes) -> bytes:
    s, e = _chunk(b, 1)
    return b + b[s:e]


# (mutation, expected reason); header offsets: 0 magic, 8 version, 9 id, 25 created,
# 33 chunk size, 37 sealed DEK length, 39 sealed DEK (version, algorithm, kid, nonce, ...).
ATTACKS: dict[str, tuple[Callable[[bytes], bytes], Reason]] = {
    "empty-file": (lambda b: b"", Reason.MALFORMED),
    "not-a-backup": (lambda b: b"PGDMP\x01\x0e" + bytes(500), Reason.MALFORMED),
    "wrong-version": (lambda b: b[:8] + b"\x02" + b[9:], Reason.UNSUPPORTED_VERSION),
    "header-cut": (lambda b: b[: _header_size(b) - 5], Reason.MALFORMED),
    "header-only": (lambda b: b[: _header_size(b)], Reason.MALFORMED),
    "cut-at-boundary": (lambda b: b[: _chunk(b, 2)[0]], Reason.MALFORMED),
    "final-chunk-dropped": (lambda b: b[: _chunk(b, 4)[0]], Reason.MALFORMED),
    "cut-mid-chunk": (lambda b: b[: _chunk(b, 2)[0] + 500], Reason.AUTHENTICATION_FAILED),
    "cut-inside-tag": (lambda b: b[: _chunk(b, 4)[0] + 10], Reason.MALFORMED),
    "chunk-appended": (_append_chunk, Reason.AUTHENTICATION_FAILED),
    "byte-appended": (lambda b: b + b"\x00", Reason.AUTHENTICATION_FAILED),
    "chunks-swapped": (_swap, Reason.AUTHENTICATION_FAILED),
    "chunk-duplicated": (_duplicate, Reason.AUTHENTICATION_FAILED),
    "chunk-dropped": (_drop_middle, Reason.AUTHENTICATION_FAILED),
    "magic-flipped": (_flip(lambda b: 0), Reason.MALFORMED),
    "backup-id-flipped": (_flip(lambda b: 12), Reason.AUTHENTICATION_FAILED),
    "created-flipped": (_flip(lambda b: 32), Reason.AUTHENTICATION_FAILED),
    "chunk-size-flipped": (_flip(lambda b: 36), Reason.AUTHENTICATION_FAILED),
    "chunk-size-out-of-range": (_flip(lambda b: 33), Reason.MALFORMED),
    "dek-length-flipped": (_flip(lambda b: 37), Reason.AUTHENTICATION_FAILED),
    "dek-length-zero": (lambda b: b[:37] + b"\0\0" + b[39:], Reason.MALFORMED),
    "dek-kid-flipped": (_flip(lambda b: 41), Reason.UNKNOWN_KEY),
    "dek-ciphertext-flipped": (_flip(lambda b: _header_size(b) - 20), Reason.AUTHENTICATION_FAILED),
    "dek-tag-flipped": (_flip(lambda b: _header_size(b) - 1), Reason.AUTHENTICATION_FAILED),
    "chunk-byte-flipped": (_flip(lambda b: _chunk(b, 1)[0] + 7), Reason.AUTHENTICATION_FAILED),
    "chunk-tag-flipped": (_flip(lambda b: _chunk(b, 1)[1] - 1), Reason.AUTHENTICATION_FAILED),
    "final-chunk-flipped": (_flip(lambda b: _chunk(b, 4)[0]), Reason.AUTHENTICATION_FAILED),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_damaged_backup_never_restores(sealer: BackupSealer, tmp_path: Path, attack: str) -> None:
    mutate, reason = ATTACKS[attack]
    good, _ = _seal(sealer, DATA)
    bad = mutate(good)
    assert bad != good
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.crbk").write_bytes(bad)
    (tmp_path / "out").mkdir()
    with pytest.raises(DecryptionError) as e:
        sealer.restore_file(tmp_path / "in" / "b.crbk", tmp_path / "out" / "restored")
    assert e.value.reason is reason
    assert str(e.value) == "decryption failed"
    assert list((tmp_path / "out").iterdir()) == []  # no partial file, no temporary file
    with pytest.raises(DecryptionError) as again:
        sealer.open_stream(io.BytesIO(bad), io.BytesIO())
    assert again.value.reason is reason


def test_a_chunk_appended_after_a_full_final_chunk_is_malformed(sealer: BackupSealer) -> None:
    good, _ = _seal(sealer, os.urandom(3 * CHUNK))  # the final chunk is a full one
    s, e = _chunk(good, 0)
    with pytest.raises(DecryptionError) as err:
        sealer.open_stream(io.BytesIO(good + good[s:e]), io.BytesIO())
    assert err.value.reason is Reason.MALFORMED


def test_chunks_of_another_backup_do_not_splice(sealer: BackupSealer) -> None:
    a, _ = _seal(sealer, DATA)
    b, _ = _seal(sealer, DATA)
    s, e = _chunk(a, 1)
    with pytest.raises(DecryptionError) as err:
        sealer.open_stream(io.BytesIO(b[:s] + a[s:e] + b[e:]), io.BytesIO())
    assert err.value.reason is Reason.AUTHENTICATION_FAILED


def test_restore_refuses_to_overwrite(sealer: BackupSealer, tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"data")
    sealer.seal_file(tmp_path / "src", tmp_path / "b.crbk")
    with pytest.raises(ConfigurationError, match="exists; pass overwrite=True"):
        sealer.seal_file(tmp_path / "src", tmp_path / "b.crbk")
    (tmp_path / "dst").write_bytes(b"precious")
    with pytest.raises(ConfigurationError, match="exists; pass overwrite=True"):
        sealer.restore_file(tmp_path / "b.crbk", tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == b"precious"
    sealer.restore_file(tmp_path / "b.crbk", tmp_path / "dst", overwrite=True)
    assert (tmp_path / "dst").read_bytes() == b"data"
    with pytest.raises(ConfigurationError, match="cannot restore"):
        sealer.restore_file(tmp_path / "missing.crbk", tmp_path / "dst2")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigurationError, match="cannot back up"):
        sealer.seal_file(tmp_path / "folder", tmp_path / "folder.crbk")
    assert not (tmp_path / "folder.crbk").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


# -- tenants, keyrings, the live keyring -----------------------------------------------


def test_another_tenant_or_backup_keyring_cannot_open(
    sealer: BackupSealer, backup_keyring: Keyring, tmp_path: Path
) -> None:
    backup, _ = _seal(sealer, DATA)
    other_tenant = BackupSealer(backup_keyring, tenant="globex", chunk_size=CHUNK)
    _seal(other_tenant, b"globex has a backup keyset too")
    with pytest.raises(DecryptionError) as e:
        other_tenant.open_stream(io.BytesIO(backup), io.BytesIO())
    assert e.value.reason is Reason.UNKNOWN_KEY
    elsewhere = Keyring.open(
        tmp_path / "other-keys",
        kek=LocalKek.generate(tmp_path / "other-kek"),
        environment="prod",
        create=True,
    )
    with pytest.raises(DecryptionError) as e:
        BackupSealer(elsewhere, tenant=TENANT).open_stream(io.BytesIO(backup), io.BytesIO())
    assert e.value.reason is Reason.UNKNOWN_KEY


def test_live_keyring_is_refused(tmp_path: Path) -> None:
    live = Keyring.open(
        tmp_path / "live", kek=LocalKek.generate(tmp_path / "kek"), environment="prod", create=True
    )
    Sealer(live).seal(b"alice@example.com", Context(TENANT, "user-email"))
    with pytest.raises(ConfigurationError) as e:
        BackupSealer(live, tenant=TENANT)
    assert str(e.value) == (
        "a BackupSealer needs a keyring of its own, but this one (environment 'prod') holds "
        "keysets of other purposes ('user-email'): open the backup keyring from a separate "
        "keystore under a separate KEK, so that backups and live data never share keys"
    )


def test_keyring_that_gains_a_live_keyset_stops_sealing(backup_keyring: Keyring) -> None:
    sealer = BackupSealer(backup_keyring, tenant=TENANT)
    Sealer(backup_keyring).seal(b"x", Context(TENANT, "user-email"))  # misuse
    with pytest.raises(ConfigurationError, match="other purposes"):
        sealer.seal_stream(io.BytesIO(b"data"), io.BytesIO())


def test_constructor_checks_its_arguments(backup_keyring: Keyring) -> None:
    with pytest.raises(TypeError, match="Keyring"):
        BackupSealer(object(), tenant=TENANT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size must be between 1024 and 16777216"):
        BackupSealer(backup_keyring, tenant=TENANT, chunk_size=512)
    with pytest.raises(TypeError, match="chunk_size"):
        BackupSealer(backup_keyring, tenant=TENANT, chunk_size=True)
    with pytest.raises(ValueError, match="tenant must not be empty"):
        BackupSealer(backup_keyring, tenant="")
    with pytest.raises(TypeError, match="ledger"):
        BackupSealer(backup_keyring, tenant=TENANT, ledger="sqlite://x")  # type: ignore[arg-type]


def test_text_streams_are_refused(sealer: BackupSealer) -> None:
    with pytest.raises(TypeError, match="binary streams"):
        sealer.seal_stream(io.StringIO("text"), io.BytesIO())  # type: ignore[arg-type]
    backup, _ = _seal(sealer, b"x")
    with pytest.raises(TypeError, match="binary streams"):
        sealer.open_stream(io.StringIO("text"), io.BytesIO())  # type: ignore[arg-type]
    assert sealer.open_stream(io.BytesIO(backup), io.BytesIO()).plaintext_bytes == 1
