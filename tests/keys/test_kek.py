"""`LocalKek`: file handling and wrapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cryptorails
from cryptorails import ConfigurationError, DecryptionError, LocalKek, Secret
from cryptorails.keys import Kek


def test_generate_writes_a_private_32_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    kek = LocalKek.generate(path)
    assert isinstance(kek, Kek)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert len(path.read_bytes()) == 32
    assert LocalKek.from_file(path).kek_id == kek.kek_id


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_bytes(b"keep me")
    with pytest.raises(ConfigurationError, match="already exists"):
        LocalKek.generate(path)
    assert path.read_bytes() == b"keep me"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o602])
def test_refuses_group_or_world_accessible_files(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "kek"
    path.write_bytes(os.urandom(32))
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match="accessible by group or others"):
        LocalKek.from_file(path)


def test_reads_hex_form(tmp_path: Path) -> None:
    raw = os.urandom(32)
    path = tmp_path / "kek"
    path.write_text(raw.hex() + "\n")
    path.chmod(0o600)
    assert LocalKek.from_file(path).kek_id == LocalKek(Secret(raw)).kek_id


@pytest.mark.parametrize("content", [b"", b"short", os.urandom(33), b"zz" * 32, os.urandom(31)])
def test_rejects_malformed_key_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "kek"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="32 raw bytes or 64 hex digits"):
        LocalKek.from_file(path)


def test_missing_file_and_symlink_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read KEK file"):
        LocalKek.from_file(tmp_path / "absent")
    target = tmp_path / "real"
    LocalKek.generate(target)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match="cannot read KEK file"):
        LocalKek.from_file(link)
    with pytest.raises(ConfigurationError):
        LocalKek.from_file(tmp_path)


def test_wrap_binds_associated_data() -> None:
    kek = LocalKek(Secret(os.urandom(32)))
    blob = kek.wrap(b"keyset json", b"ctx-a")
    assert kek.unwrap(blob, b"ctx-a") == b"keyset json"
    for bad_aad, bad_blob in [
        (b"ctx-b", blob),
        (b"ctx-a", blob[:-1] + bytes([blob[-1] ^ 1])),
        (b"ctx-a", b"\x02" + blob[1:]),
        (b"ctx-a", b""),
        (b"ctx-a", blob[:20]),
    ]:
        with pytest.raises(DecryptionError):
            kek.unwrap(bad_blob, bad_aad)
    other = LocalKek(Secret(os.urandom(32)))
    with pytest.raises(DecryptionError):
        other.unwrap(blob, b"ctx-a")
    assert other.kek_id != kek.kek_id


def test_repr_and_type_checks() -> None:
    kek = LocalKek(Secret(bytes(32)))
    assert "kek_id" in repr(kek)
    with pytest.raises(TypeError):
        LocalKek(bytes(32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        LocalKek(Secret(bytes(16)))


LIBRARY = Path(cryptorails.__file__).parent


def test_a_rejected_key_file_leaves_no_key_bytes_in_traceback_locals(tmp_path: Path) -> None:
    # Error trackers record the locals of every frame: a KEK with a trailing newline
    # (33 bytes) must not put the 32 key bytes into any of them.
    key = os.urandom(32)
    path = tmp_path / "kek"
    path.write_bytes(key + b"\n")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError) as info:
        LocalKek.from_file(path)
    tb = info.value.__traceback__
    library_frames = 0
    while tb is not None:
        frame = tb.tb_frame
        if Path(frame.f_code.co_filename).is_relative_to(LIBRARY):  # not the test's own
            library_frames += 1
            for value in list(frame.f_locals.values()):
                if isinstance(value, bytes | bytearray):
                    assert key not in value
        tb = tb.tb_next
    assert library_frames >= 1
